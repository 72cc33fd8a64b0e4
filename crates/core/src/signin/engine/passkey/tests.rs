//! The passkey transitions: what a passkey proves, and what an answer the engine did not
//! ask for (another account's passkey, a flow without passkeys, a decoy) cannot do.

use super::super::*;
use crate::directory::{MfaPolicy, SignInMethod, UserFlowConfig};
use crate::ids::UserId;

fn config(methods: Vec<SignInMethod>, mfa: MfaPolicy) -> UserFlowConfig {
    UserFlowConfig {
        methods,
        mfa,
        ..UserFlowConfig::default()
    }
}

fn rules(config: &UserFlowConfig) -> Rules<'_> {
    Rules {
        config,
        reveal_accounts: false,
        sms_countries: &[],
    }
}

fn answer() -> Event {
    Event::Passkey {
        challenge_id: "c".into(),
        response: "{}".into(),
        keep_signed_in: true,
    }
}

fn user(id: UserId) -> UserFacts {
    UserFacts {
        id,
        enabled: true,
        has_password: false,
    }
}

fn checked(id: UserId, user_verified: bool) -> Event {
    Event::PasskeyChecked(Ok(PasskeyFacts {
        user: user(id),
        email: "ada@example.com".into(),
        user_verified,
        hardware_bound: false,
    }))
}

#[test]
fn a_verified_passkey_at_the_first_step_signs_in_and_passes_mfa() {
    let config = config(
        vec![SignInMethod::Password, SignInMethod::Passkey],
        MfaPolicy::Required,
    );
    let rules = rules(&config);
    let mut flow = Flow::new(Journey::SignIn);
    let asked = flow.handle(answer(), &rules).unwrap();
    assert_eq!(
        asked.effects,
        vec![Effect::CheckPasskey {
            challenge_id: "c".into(),
            response: "{}".into(),
            user: None,
            decoy: false,
        }]
    );
    assert!(flow.keep_signed_in);
    let id = UserId::new_random();
    flow.handle(checked(id, true), &rules).unwrap();
    assert!(flow.is_done());
    assert_eq!(flow.email.as_deref(), Some("ada@example.com"));
    assert_eq!(flow.amr(), vec!["swk", "mfa"]);
}

#[test]
fn an_unverified_passkey_is_one_factor_and_mfa_follows() {
    let config = config(vec![SignInMethod::Passkey], MfaPolicy::Required);
    let rules = rules(&config);
    let mut flow = Flow::new(Journey::SignIn);
    flow.handle(answer(), &rules).unwrap();
    let next = flow
        .handle(checked(UserId::new_random(), false), &rules)
        .unwrap();
    assert_eq!(next.effects, vec![Effect::LoadMethods]);
    assert!(!flow.is_done());
}

#[test]
fn a_flow_without_passkeys_takes_no_passkey() {
    let config = config(vec![SignInMethod::Password], MfaPolicy::Off);
    let rules = rules(&config);
    let mut flow = Flow::new(Journey::SignIn);
    assert!(flow.handle(answer(), &rules).is_err());
    assert!(
        flow.handle(checked(UserId::new_random(), true), &rules)
            .is_err(),
        "a forged check result cannot sign anyone in"
    );
    let mut sign_up = Flow::new(Journey::SignUp);
    let passkeys = self::config(vec![SignInMethod::Passkey], MfaPolicy::Off);
    assert!(sign_up.handle(answer(), &self::rules(&passkeys)).is_err());
}

#[test]
fn once_an_address_is_given_only_its_accounts_passkey_counts() {
    let config = config(
        vec![SignInMethod::Password, SignInMethod::Passkey],
        MfaPolicy::Off,
    );
    let rules = rules(&config);
    let mut flow = Flow::new(Journey::SignIn);
    flow.handle(
        Event::Identify {
            email: "ada@example.com".into(),
            keep_signed_in: false,
        },
        &rules,
    )
    .unwrap();
    let owner = UserId::new_random();
    flow.handle(Event::UserLookedUp(Some(user(owner))), &rules)
        .unwrap();
    assert_eq!(flow.step, Step::Password);
    let asked = flow.handle(answer(), &rules).unwrap();
    assert_eq!(
        asked.effects,
        vec![Effect::CheckPasskey {
            challenge_id: "c".into(),
            response: "{}".into(),
            user: Some(owner),
            decoy: false,
        }]
    );
    assert!(
        flow.handle(checked(UserId::new_random(), true), &rules)
            .is_err(),
        "another account's passkey"
    );
    flow.handle(checked(owner, true), &rules).unwrap();
    assert!(flow.is_done());
}

#[test]
fn an_address_without_an_account_takes_no_passkey_and_says_only_not_recognised() {
    let config = config(vec![SignInMethod::Passkey], MfaPolicy::Off);
    let rules = rules(&config);
    let mut flow = Flow::new(Journey::SignIn);
    flow.handle(
        Event::Identify {
            email: "nobody@example.com".into(),
            keep_signed_in: false,
        },
        &rules,
    )
    .unwrap();
    flow.handle(Event::UserLookedUp(None), &rules).unwrap();
    assert_eq!(
        flow.step,
        Step::Passkey,
        "a passkey-only flow waits for one"
    );
    // The answer is checked like any other (same work, same time)...
    let answered = flow.handle(answer(), &rules).unwrap();
    assert_eq!(
        answered.effects,
        vec![Effect::CheckPasskey {
            challenge_id: "c".into(),
            response: "{}".into(),
            user: None,
            decoy: true,
        }]
    );
    // ...and whatever the check said, it is only "not recognised"; a forged success is
    // refused outright.
    for outcome in [PasskeyProblem::Expired, PasskeyProblem::Refused] {
        let told = flow
            .handle(Event::PasskeyChecked(Err(outcome)), &rules)
            .unwrap();
        assert_eq!(
            told.problem,
            Some(Problem::Passkey(PasskeyProblem::NotRecognised))
        );
    }
    assert!(
        flow.handle(checked(UserId::new_random(), true), &rules)
            .is_err()
    );
}

#[test]
fn as_the_second_factor_only_the_accounts_passkey_passes_and_no_code_does() {
    let mut config = config(vec![SignInMethod::Password], MfaPolicy::Required);
    config.mfa_methods = vec![crate::directory::MfaMethod::Passkey];
    let rules = rules(&config);
    let mut flow = Flow::new(Journey::SignIn);
    flow.handle(
        Event::Identify {
            email: "ada@example.com".into(),
            keep_signed_in: false,
        },
        &rules,
    )
    .unwrap();
    let owner = UserId::new_random();
    let mut facts = user(owner);
    facts.has_password = true;
    flow.handle(Event::UserLookedUp(Some(facts.clone())), &rules)
        .unwrap();
    flow.handle(Event::PasswordChecked(Ok(facts)), &rules)
        .unwrap();
    let passkeys = MethodFacts {
        id: crate::ids::AuthMethodId(owner.0),
        kind: crate::directory::MfaMethod::Passkey,
        target: None,
    };
    flow.handle(Event::MethodsLoaded(vec![passkeys]), &rules)
        .unwrap();
    assert!(matches!(flow.step, Step::SecondFactor { .. }));
    assert!(
        flow.handle(
            Event::Code {
                code: "123456".into()
            },
            &rules
        )
        .is_err(),
        "a passkey is not answered with a code"
    );
    let asked = flow.handle(answer(), &rules).unwrap();
    assert_eq!(
        asked.effects,
        vec![Effect::CheckPasskey {
            challenge_id: "c".into(),
            response: "{}".into(),
            user: Some(owner),
            decoy: false,
        }]
    );
    assert!(
        flow.handle(checked(UserId::new_random(), true), &rules)
            .is_err(),
        "another account's passkey"
    );
    flow.handle(checked(owner, false), &rules).unwrap();
    assert!(
        flow.is_done(),
        "possession is the second factor, verified or not"
    );
    assert_eq!(flow.amr(), vec!["pwd", "mfa"]);
}

#[test]
fn one_unverified_passkey_cannot_be_both_factors() {
    let mut config = config(vec![SignInMethod::Passkey], MfaPolicy::Required);
    config.mfa_methods = vec![crate::directory::MfaMethod::Passkey];
    let rules = rules(&config);
    let mut flow = Flow::new(Journey::SignIn);
    flow.handle(answer(), &rules).unwrap();
    let owner = UserId::new_random();
    flow.handle(checked(owner, false), &rules).unwrap();
    let passkeys = MethodFacts {
        id: crate::ids::AuthMethodId(owner.0),
        kind: crate::directory::MfaMethod::Passkey,
        target: None,
    };
    let next = flow
        .handle(Event::MethodsLoaded(vec![passkeys]), &rules)
        .unwrap();
    assert_eq!(next.problem, Some(Problem::NoSecondFactor));
    assert!(!flow.is_done());
}

#[test]
fn a_passkey_is_registered_just_in_time_but_never_as_the_second_of_a_passkey() {
    let mut config = config(
        vec![SignInMethod::Password, SignInMethod::Passkey],
        MfaPolicy::Required,
    );
    config.mfa_methods = vec![crate::directory::MfaMethod::Passkey];
    let rules = rules(&config);
    let owner = UserId::new_random();
    let mut facts = user(owner);
    facts.has_password = true;
    let mut flow = Flow::new(Journey::SignIn);
    flow.handle(
        Event::Identify {
            email: "ada@example.com".into(),
            keep_signed_in: false,
        },
        &rules,
    )
    .unwrap();
    flow.handle(Event::UserLookedUp(Some(facts.clone())), &rules)
        .unwrap();
    flow.handle(Event::PasswordChecked(Ok(facts)), &rules)
        .unwrap();
    flow.handle(Event::MethodsLoaded(Vec::new()), &rules)
        .unwrap();
    assert_eq!(flow.step, Step::EnrolPasskey);
    let asked = flow
        .handle(
            Event::PasskeyMade {
                challenge_id: "c".into(),
                response: "{}".into(),
            },
            &rules,
        )
        .unwrap();
    assert_eq!(
        asked.effects,
        vec![Effect::AddPasskey {
            challenge_id: "c".into(),
            response: "{}".into(),
        }]
    );
    let method = MethodFacts {
        id: crate::ids::AuthMethodId(owner.0),
        kind: crate::directory::MfaMethod::Passkey,
        target: None,
    };
    flow.handle(
        Event::MethodAdded {
            method,
            recovery_codes: false,
        },
        &rules,
    )
    .unwrap();
    assert!(flow.is_done());

    // An unverified passkey as the first factor: the same key cannot be registered as the
    // second, so nothing can be.
    let mut flow = Flow::new(Journey::SignIn);
    flow.handle(answer(), &rules).unwrap();
    flow.handle(checked(owner, false), &rules).unwrap();
    let next = flow
        .handle(Event::MethodsLoaded(Vec::new()), &rules)
        .unwrap();
    assert_eq!(next.problem, Some(Problem::NoSecondFactor));
}
