//! Properties of the engine under any sequence of events: people submitting anything in any
//! order, and effect results of any shape (a driver bug, a stale page, a hostile client).

use proptest::prelude::*;

use super::*;
use crate::directory::{AttributeSpec, MfaPolicy, SignInMethod};
use crate::ids::{AuthMethodId, OtpChallengeId, UserId};

fn configs() -> Vec<UserFlowConfig> {
    let all_mfa = vec![MfaMethod::EmailOtp, MfaMethod::Sms, MfaMethod::Totp];
    vec![
        UserFlowConfig::default(),
        UserFlowConfig {
            mfa: MfaPolicy::Required,
            mfa_methods: all_mfa.clone(),
            attributes: vec![AttributeSpec::parse_cli("displayName:required").unwrap()],
            ..UserFlowConfig::default()
        },
        UserFlowConfig {
            methods: vec![SignInMethod::EmailOtp],
            sign_up: false,
            mfa: MfaPolicy::Required,
            mfa_methods: vec![MfaMethod::Totp],
            ..UserFlowConfig::default()
        },
    ]
}

fn facts() -> impl Strategy<Value = UserFacts> {
    (any::<bool>(), any::<bool>()).prop_map(|(enabled, has_password)| UserFacts {
        id: UserId::new_random(),
        enabled,
        has_password,
    })
}

fn mfa_kind() -> impl Strategy<Value = MfaMethod> {
    prop_oneof![
        Just(MfaMethod::EmailOtp),
        Just(MfaMethod::Sms),
        Just(MfaMethod::Totp)
    ]
}

fn method() -> impl Strategy<Value = MethodFacts> {
    (mfa_kind(), proptest::option::of("[a-z+0-9@.]{0,12}")).prop_map(|(kind, target)| MethodFacts {
        id: AuthMethodId::new_random(),
        kind,
        target,
    })
}

fn code_check() -> impl Strategy<Value = CodeCheck> {
    prop_oneof![
        Just(CodeCheck::Valid),
        proptest::option::of(0u32..6).prop_map(|attempts_left| CodeCheck::Wrong { attempts_left }),
        Just(CodeCheck::Expired),
        Just(CodeCheck::Dead),
        Just(CodeCheck::RateLimited),
        Just(CodeCheck::Locked),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ada@example.com".to_owned()),
        Just("+14155550123".to_owned()),
        Just("12345678".to_owned()),
        "\\PC{0,40}",
    ]
}

fn person_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (text(), any::<bool>()).prop_map(|(email, keep_signed_in)| Event::Identify {
            email,
            keep_signed_in
        }),
        text().prop_map(|password| Event::Password { password }),
        Just(Event::UseEmailCode),
        Just(Event::ResendCode),
        text().prop_map(|code| Event::Code { code }),
        text().prop_map(|code| Event::RecoveryCode { code }),
        text().prop_map(|password| Event::NewPassword { password }),
        proptest::collection::btree_map("[a-zA-Z]{1,12}", text(), 0..4)
            .prop_map(|values| Event::Attributes { values }),
        Just(Event::ChooseMethod {
            method: AuthMethodId::new_random()
        }),
        mfa_kind().prop_map(|kind| Event::Enrol { kind }),
        text().prop_map(|number| Event::Phone { number }),
        Just(Event::Acknowledge),
        any::<bool>().prop_map(|accept| Event::Consent { accept }),
    ]
}

fn effect_result() -> impl Strategy<Value = Event> {
    prop_oneof![
        proptest::option::of(facts()).prop_map(Event::UserLookedUp),
        prop_oneof![
            facts().prop_map(Ok),
            Just(Err(CredentialProblem::Invalid)),
            Just(Err(CredentialProblem::LockedOut)),
            Just(Err(CredentialProblem::Disabled)),
            Just(Err(CredentialProblem::RateLimited)),
        ]
        .prop_map(Event::PasswordChecked),
        prop_oneof![
            Just(Ok(OtpChallengeId::new_random())),
            (1i64..600).prop_map(Err)
        ]
        .prop_map(Event::CodeSent),
        code_check().prop_map(Event::CodeChecked),
        prop_oneof![
            Just(Ok("$argon2id$hash".to_owned())),
            Just(Err(PasswordProblem::Banned)),
            Just(Err(PasswordProblem::RecentlyUsed)),
        ]
        .prop_map(Event::NewPasswordChecked),
        facts().prop_map(Event::UserCreated),
        Just(Event::AddressTaken),
        Just(Event::PasswordSet),
        proptest::collection::vec(method(), 0..3).prop_map(Event::MethodsLoaded),
        Just(Event::TotpSecretMade("sealed".to_owned())),
        (method(), any::<bool>()).prop_map(|(method, recovery_codes)| Event::MethodAdded {
            method,
            recovery_codes
        }),
        (facts(), any::<bool>(), proptest::option::of(mfa_kind())).prop_map(
            |(user, password, second_factor)| Event::SessionFound {
                user,
                email: "ada@example.com".to_owned(),
                first_factor: if password {
                    FirstFactor::Password
                } else {
                    FirstFactor::EmailCode
                },
                second_factor,
            }
        ),
        proptest::collection::vec("[a-z]{1,3}", 0..3).prop_map(Event::ConsentLoaded),
        Just(Event::ConsentRecorded),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any sequence of events: no panic; a refused event leaves the flow exactly as it was;
    /// the flow always survives the store's round trip; and a finished flow is a real,
    /// enabled account that passed every check its rules ask for.
    #[test]
    fn no_sequence_of_events_breaks_the_rules(
        journey in prop_oneof![
            Just(Journey::SignIn),
            Just(Journey::SignUp),
            Just(Journey::ResetPassword)
        ],
        config in 0usize..3,
        reveal_accounts in any::<bool>(),
        consent in proptest::option::of((proptest::collection::vec("[a-z]{1,3}", 1..3), any::<bool>())),
        events in proptest::collection::vec(
            prop_oneof![3 => person_event(), 2 => effect_result()],
            0..40,
        ),
    ) {
        let configs = configs();
        let rules = Rules {
            config: &configs[config],
            reveal_accounts,
            sms_countries: &[],
        };
        let mut flow = Flow::new(journey);
        flow.consent = consent.map(|(scopes, always)| ConsentAsk {
            api: crate::ids::ClientId::new_random(),
            scopes,
            always,
            granted: Vec::new(),
            settled: false,
        });
        for event in events {
            let before = flow.clone();
            match flow.handle(event, &rules) {
                Ok(_) => {}
                Err(_) => prop_assert_eq!(&flow, &before, "a refused event changed the flow"),
            }
            let stored = serde_json::to_string(&flow).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let loaded: Flow = serde_json::from_str(&stored).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&loaded, &flow);
            if flow.is_done() {
                prop_assert!(!flow.decoy, "a decoy never finishes");
                prop_assert!(flow.user.as_ref().is_some_and(|u| u.enabled), "{flow:?}");
                prop_assert!(!flow.amr().is_empty());
                if rules.config.mfa == MfaPolicy::Required {
                    prop_assert!(flow.mfa_done, "finished without the required second factor");
                }
                if flow.journey == Journey::ResetPassword {
                    prop_assert!(flow.password_hash.is_some(), "a reset finished without a password");
                }
                if let Some(ask) = &flow.consent {
                    prop_assert!(ask.settled, "finished without the consent it had to get");
                }
                break;
            }
        }
    }
}

#[test]
fn the_strategies_reach_the_end_of_a_journey() {
    // A guard that the property above explores finished flows at all: walk one by hand with
    // the same event shapes.
    let configs = configs();
    let rules = Rules {
        config: &configs[0],
        reveal_accounts: false,
        sms_countries: &[],
    };
    let mut flow = Flow::new(Journey::SignIn);
    let user = UserFacts {
        id: UserId::new_random(),
        enabled: true,
        has_password: true,
    };
    for event in [
        Event::Identify {
            email: "ada@example.com".into(),
            keep_signed_in: false,
        },
        Event::UserLookedUp(Some(user.clone())),
        Event::Password {
            password: "x".into(),
        },
        Event::PasswordChecked(Ok(user)),
    ] {
        let _ = flow.handle(event, &rules);
    }
    assert!(flow.is_done(), "{flow:?}");
}
