//! Every transition of the engine, and the events each step refuses.

use std::collections::BTreeMap;

use super::*;
use crate::directory::{AttributeSpec, MfaPolicy, SignInMethod};
use crate::ids::{AuthMethodId, OtpChallengeId, UserId};
use crate::otp::OtpPurpose;
use crate::outbox::Channel;

fn config() -> UserFlowConfig {
    UserFlowConfig::default()
}

fn rules(config: &UserFlowConfig) -> Rules<'_> {
    Rules {
        config,
        reveal_accounts: false,
        sms_countries: &[],
    }
}

fn user() -> UserFacts {
    UserFacts {
        id: UserId::new_random(),
        enabled: true,
        has_password: true,
    }
}

fn ok(flow: &mut Flow, event: Event, config: &UserFlowConfig) -> Reaction {
    flow.handle(event, &rules(config)).unwrap()
}

/// The effects of `event`, with the attribute-collection extensions answered as the driver
/// answers them where no extension serves the flow (`Continue`).
fn effects(flow: &mut Flow, event: Event, config: &UserFlowConfig) -> Vec<Effect> {
    let reaction = ok(flow, event, config);
    assert_eq!(reaction.problem, None);
    match reaction.effects.as_slice() {
        [Effect::StartAttributeCollection] => effects(
            flow,
            Event::CollectionStarted(CollectionStart::Continue),
            config,
        ),
        [Effect::SubmitAttributes] => effects(
            flow,
            Event::AttributesReviewed(AttributeReview::Continue),
            config,
        ),
        _ => reaction.effects,
    }
}

fn identify(journey: Journey, config: &UserFlowConfig) -> Flow {
    let mut flow = Flow::new(journey);
    let out = effects(
        &mut flow,
        Event::Identify {
            email: " Ada@Example.com ".into(),
            keep_signed_in: true,
        },
        config,
    );
    assert_eq!(out, vec![Effect::LookUpUser]);
    assert_eq!(flow.email.as_deref(), Some("ada@example.com"));
    assert!(flow.keep_signed_in);
    flow
}

fn sent(flow: &mut Flow, config: &UserFlowConfig) -> OtpChallengeId {
    let id = OtpChallengeId::new_random();
    assert_eq!(effects(flow, Event::CodeSent(Ok(id)), config), vec![]);
    assert_eq!(flow.challenge, Some(id));
    id
}

fn send_effect(purpose: OtpPurpose, to: &str, message: MessageKind) -> Effect {
    Effect::SendCode {
        purpose,
        channel: Channel::Mail,
        to: to.into(),
        message,
    }
}

fn mfa_config(methods: Vec<MfaMethod>) -> UserFlowConfig {
    UserFlowConfig {
        mfa: MfaPolicy::Required,
        mfa_methods: methods,
        ..config()
    }
}

fn method(kind: MfaMethod, target: Option<&str>) -> MethodFacts {
    MethodFacts {
        id: AuthMethodId::new_random(),
        kind,
        target: target.map(str::to_owned),
    }
}

/// A sign-in that got past the password.
fn signed_in_with_password(config: &UserFlowConfig) -> (Flow, Vec<Effect>) {
    let mut flow = identify(Journey::SignIn, config);
    ok(&mut flow, Event::UserLookedUp(Some(user())), config);
    effects(
        &mut flow,
        Event::Password {
            password: "pw".into(),
        },
        config,
    );
    let out = effects(&mut flow, Event::PasswordChecked(Ok(user())), config);
    (flow, out)
}

#[test]
fn password_sign_in_without_mfa_is_done() {
    let config = config();
    let mut flow = identify(Journey::SignIn, &config);
    assert_eq!(
        effects(&mut flow, Event::UserLookedUp(Some(user())), &config),
        vec![]
    );
    assert_eq!(flow.step, Step::Password);
    let out = effects(
        &mut flow,
        Event::Password {
            password: "secret".into(),
        },
        &config,
    );
    assert_eq!(
        out,
        vec![Effect::CheckPassword {
            password: "secret".into()
        }]
    );
    assert_eq!(
        effects(&mut flow, Event::PasswordChecked(Ok(user())), &config),
        vec![]
    );
    assert!(flow.is_done());
    assert_eq!(flow.amr(), vec!["pwd"]);
}

#[test]
fn wrong_passwords_keep_the_step_and_say_why() {
    let config = config();
    let mut flow = identify(Journey::SignIn, &config);
    ok(&mut flow, Event::UserLookedUp(None), &config);
    assert_eq!(flow.step, Step::Password, "unknown accounts look the same");
    for why in [
        CredentialProblem::Invalid,
        CredentialProblem::LockedOut,
        CredentialProblem::Disabled,
        CredentialProblem::RateLimited,
    ] {
        let reaction = ok(&mut flow, Event::PasswordChecked(Err(why)), &config);
        assert_eq!(reaction.problem, Some(Problem::Credentials(why)));
        assert_eq!(flow.step, Step::Password);
    }
    let empty = ok(
        &mut flow,
        Event::Password {
            password: String::new(),
        },
        &config,
    );
    assert_eq!(empty.effects, vec![]);
    assert!(empty.problem.is_some());
}

#[test]
fn a_bad_email_is_a_problem_not_a_move() {
    let config = config();
    let mut flow = Flow::new(Journey::SignIn);
    let reaction = ok(
        &mut flow,
        Event::Identify {
            email: "not-an-address".into(),
            keep_signed_in: false,
        },
        &config,
    );
    assert_eq!(reaction.problem, Some(Problem::InvalidEmail));
    assert_eq!(flow.step, Step::Identify);
}

#[test]
fn email_code_sign_in() {
    let config = config();
    let mut flow = identify(Journey::SignIn, &config);
    ok(&mut flow, Event::UserLookedUp(Some(user())), &config);
    let out = effects(&mut flow, Event::UseEmailCode, &config);
    assert_eq!(
        out,
        vec![send_effect(
            OtpPurpose::SignIn,
            "ada@example.com",
            MessageKind::Code
        )]
    );
    assert_eq!(flow.step, Step::SignInCode);
    sent(&mut flow, &config);
    assert_eq!(flow.code_recipient(), Some("ada@example.com"));
    let out = effects(
        &mut flow,
        Event::Code {
            code: "12345678".into(),
        },
        &config,
    );
    assert_eq!(
        out,
        vec![Effect::CheckCode {
            purpose: OtpPurpose::SignIn,
            code: "12345678".into()
        }]
    );
    effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert!(flow.is_done());
    assert_eq!(flow.code_recipient(), None, "no code awaited");
    assert!(flow.email_verified);
    assert_eq!(flow.amr(), vec!["otp"]);
}

#[test]
fn passwordless_flows_go_straight_to_the_code() {
    let config = UserFlowConfig {
        methods: vec![SignInMethod::EmailOtp],
        ..config()
    };
    let mut flow = identify(Journey::SignIn, &config);
    let out = effects(&mut flow, Event::UserLookedUp(Some(user())), &config);
    assert_eq!(
        out,
        vec![send_effect(
            OtpPurpose::SignIn,
            "ada@example.com",
            MessageKind::Code
        )]
    );
    assert_eq!(flow.step, Step::SignInCode);
    assert!(
        flow.handle(
            Event::Password {
                password: "x".into()
            },
            &rules(&config)
        )
        .is_err()
    );
}

#[test]
fn codes_for_unknown_addresses_are_notices() {
    let config = UserFlowConfig {
        methods: vec![SignInMethod::EmailOtp],
        ..config()
    };
    let mut flow = identify(Journey::SignIn, &config);
    let out = effects(&mut flow, Event::UserLookedUp(None), &config);
    assert_eq!(
        out,
        vec![send_effect(
            OtpPurpose::SignIn,
            "ada@example.com",
            MessageKind::NoAccount
        )]
    );
    assert!(flow.decoy);
    // The resend sends the notice again, never a code.
    assert_eq!(
        effects(&mut flow, Event::ResendCode, &config),
        vec![send_effect(
            OtpPurpose::SignIn,
            "ada@example.com",
            MessageKind::NoAccount
        )]
    );
}

#[test]
fn the_native_contract_may_reveal_accounts() {
    let config = config();
    let reveal = Rules {
        config: &config,
        reveal_accounts: true,
        sms_countries: &[],
    };
    for (journey, found, expected) in [
        (Journey::SignIn, None, Problem::UserNotFound),
        (Journey::ResetPassword, None, Problem::UserNotFound),
        (Journey::SignUp, Some(user()), Problem::UserExists),
    ] {
        let mut flow = identify(journey, &config);
        let reaction = flow.handle(Event::UserLookedUp(found), &reveal).unwrap();
        assert_eq!(reaction.problem, Some(expected));
        assert_eq!(flow.step, Step::Identify);
        assert_eq!(flow.email, None);
    }
}

#[test]
fn code_failures_keep_the_step() {
    let config = config();
    let mut flow = identify(Journey::SignIn, &config);
    ok(&mut flow, Event::UserLookedUp(Some(user())), &config);
    effects(&mut flow, Event::UseEmailCode, &config);
    for (check, expected) in [
        (
            CodeCheck::Wrong {
                attempts_left: Some(4),
            },
            Problem::WrongCode {
                attempts_left: Some(4),
            },
        ),
        (CodeCheck::Expired, Problem::CodeExpired),
        (CodeCheck::Dead, Problem::CodeDead),
        (CodeCheck::RateLimited, Problem::RateLimited),
    ] {
        let reaction = ok(&mut flow, Event::CodeChecked(check), &config);
        assert_eq!(reaction.problem, Some(expected));
        assert_eq!(flow.step, Step::SignInCode);
    }
    let throttled = ok(&mut flow, Event::CodeSent(Err(25)), &config);
    assert_eq!(
        throttled.problem,
        Some(Problem::SendThrottled {
            retry_after_secs: 25
        })
    );
}

#[test]
fn sign_up_with_password_and_attributes() {
    let mut config = config();
    config.attributes = vec![
        AttributeSpec::parse_cli("displayName:required").unwrap(),
        AttributeSpec::parse_cli("loyalty:int").unwrap(),
    ];
    let mut flow = identify(Journey::SignUp, &config);
    let out = effects(&mut flow, Event::UserLookedUp(None), &config);
    assert_eq!(
        out,
        vec![send_effect(
            OtpPurpose::SignUp,
            "ada@example.com",
            MessageKind::Code
        )]
    );
    assert_eq!(flow.step, Step::VerifyEmail);
    sent(&mut flow, &config);
    effects(&mut flow, Event::Code { code: "1".into() }, &config);
    effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(flow.step, Step::NewPassword);
    assert!(flow.email_verified);
    let out = effects(
        &mut flow,
        Event::NewPassword {
            password: "correct horse".into(),
        },
        &config,
    );
    assert_eq!(
        out,
        vec![Effect::CheckNewPassword {
            password: "correct horse".into()
        }]
    );
    let refused = ok(
        &mut flow,
        Event::NewPasswordChecked(Err(PasswordProblem::Banned)),
        &config,
    );
    assert_eq!(
        refused.problem,
        Some(Problem::Password(PasswordProblem::Banned))
    );
    assert_eq!(flow.step, Step::NewPassword);
    effects(
        &mut flow,
        Event::NewPasswordChecked(Ok("$argon2id$x".into())),
        &config,
    );
    assert_eq!(flow.step, Step::Attributes);
    let missing = ok(
        &mut flow,
        Event::Attributes {
            values: BTreeMap::new(),
        },
        &config,
    );
    assert!(matches!(missing.problem, Some(Problem::Attributes(ref e)) if e.len() == 1));
    let values = BTreeMap::from([("displayName".to_owned(), "Ada".to_owned())]);
    let out = effects(&mut flow, Event::Attributes { values }, &config);
    assert_eq!(out, vec![Effect::CreateUser]);
    assert_eq!(flow.attributes["displayName"], "Ada");
    effects(&mut flow, Event::UserCreated(user()), &config);
    assert!(flow.is_done());
    assert_eq!(flow.amr(), vec!["otp", "pwd"]);
}

/// A sign-up at its code step, with the code sent.
fn at_verify_email(config: &UserFlowConfig) -> Flow {
    let mut flow = identify(Journey::SignUp, config);
    effects(&mut flow, Event::UserLookedUp(None), config);
    sent(&mut flow, config);
    flow
}

#[test]
fn details_sent_with_the_address_skip_their_steps() {
    let mut config = config();
    config.attributes = vec![
        AttributeSpec::parse_cli("displayName:required").unwrap(),
        AttributeSpec::parse_cli("city").unwrap(),
    ];
    let mut flow = at_verify_email(&config);
    // The password is checked and kept at the code step.
    let out = effects(
        &mut flow,
        Event::NewPassword {
            password: "correct horse".into(),
        },
        &config,
    );
    assert_eq!(
        out,
        vec![Effect::CheckNewPassword {
            password: "correct horse".into()
        }]
    );
    let refused = ok(
        &mut flow,
        Event::NewPasswordChecked(Err(PasswordProblem::TooShort)),
        &config,
    );
    assert_eq!(
        refused.problem,
        Some(Problem::Password(PasswordProblem::TooShort))
    );
    effects(
        &mut flow,
        Event::NewPasswordChecked(Ok("$argon2id$x".into())),
        &config,
    );
    assert_eq!(flow.step, Step::VerifyEmail);
    // Only what was sent is checked: a bad value is refused, a missing required one is not.
    let bad = ok(
        &mut flow,
        Event::Attributes {
            values: BTreeMap::from([("displayName".to_owned(), "x".repeat(300))]),
        },
        &config,
    );
    assert!(matches!(bad.problem, Some(Problem::Attributes(ref e)) if e[0].name == "displayName"));
    effects(
        &mut flow,
        Event::Attributes {
            values: BTreeMap::from([("displayName".to_owned(), "Ada".to_owned())]),
        },
        &config,
    );
    assert!(flow.attributes_done, "every required attribute is there");
    assert_eq!(flow.step, Step::VerifyEmail);
    let out = effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(out, vec![Effect::CreateUser]);
    assert_eq!(flow.attributes["displayName"], "Ada");
    assert_eq!(flow.password_hash.as_deref(), Some("$argon2id$x"));
}

#[test]
fn attributes_sent_early_count_at_the_attributes_step() {
    let mut config = UserFlowConfig {
        methods: vec![SignInMethod::EmailOtp],
        ..config()
    };
    config.attributes = vec![
        AttributeSpec::parse_cli("displayName:required").unwrap(),
        AttributeSpec::parse_cli("postalCode:required").unwrap(),
        AttributeSpec::parse_cli("city").unwrap(),
    ];
    let mut flow = at_verify_email(&config);
    let early = BTreeMap::from([
        ("city".to_owned(), "Oslo".to_owned()),
        ("displayName".to_owned(), "Ada".to_owned()),
    ]);
    effects(&mut flow, Event::Attributes { values: early }, &config);
    assert!(!flow.attributes_done, "postalCode is still missing");
    effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(flow.step, Step::Attributes);
    let out = effects(
        &mut flow,
        Event::Attributes {
            values: BTreeMap::from([("postalCode".to_owned(), "0150".to_owned())]),
        },
        &config,
    );
    assert_eq!(out, vec![Effect::CreateUser]);
    assert_eq!(
        flow.attributes.keys().collect::<Vec<_>>(),
        vec!["city", "displayName", "postalCode"]
    );
}

#[test]
fn a_passwordless_flow_takes_no_password_at_the_code_step() {
    let config = UserFlowConfig {
        methods: vec![SignInMethod::EmailOtp],
        ..config()
    };
    let mut flow = at_verify_email(&config);
    let before = flow.clone();
    assert!(
        flow.handle(
            Event::NewPassword {
                password: "x".into()
            },
            &rules(&config)
        )
        .is_err()
    );
    assert_eq!(flow, before);
}

#[test]
fn the_checks_before_a_sign_up_are_the_code_steps_checks() {
    let mut config = config();
    config.attributes = vec![AttributeSpec::parse_cli("loyalty:int:required").unwrap()];
    let none = BTreeMap::new();
    assert_eq!(
        Flow::check_sign_up_details(&config, "ada@example.com", Some("short"), &none),
        Err(Problem::Password(PasswordProblem::TooShort))
    );
    assert_eq!(
        Flow::check_sign_up_details(
            &config,
            "ada@example.com",
            Some("quiet harbour lanterns"),
            &none
        ),
        Ok(()),
        "a missing required attribute is asked for later"
    );
    let closed = UserFlowConfig {
        sign_up: false,
        ..config.clone()
    };
    assert_eq!(
        Flow::check_sign_up_details(&closed, "ada@example.com", None, &none),
        Err(Problem::SignUpDisabled)
    );
    let bad = BTreeMap::from([("loyalty".to_owned(), "many".to_owned())]);
    assert!(matches!(
        Flow::check_sign_up_details(&config, "ada@example.com", None, &bad),
        Err(Problem::Attributes(_))
    ));
}

#[test]
fn a_password_sign_up_may_register_the_mailbox_it_proved() {
    let config = mfa_config(vec![MfaMethod::EmailOtp]);
    let mut flow = at_verify_email(&config);
    effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    effects(
        &mut flow,
        Event::NewPasswordChecked(Ok("$argon2id$x".into())),
        &config,
    );
    effects(&mut flow, Event::UserCreated(user()), &config);
    let out = effects(&mut flow, Event::MethodsLoaded(vec![]), &config);
    assert_eq!(
        out,
        vec![Effect::AddMethod {
            kind: MfaMethod::EmailOtp,
            target: Some("ada@example.com".into())
        }],
        "preverified: no second code"
    );
    // A sign-up by code alone has no password to pair the mailbox with.
    let passwordless = UserFlowConfig {
        methods: vec![SignInMethod::EmailOtp],
        ..mfa_config(vec![MfaMethod::EmailOtp])
    };
    let mut flow = at_verify_email(&passwordless);
    effects(
        &mut flow,
        Event::CodeChecked(CodeCheck::Valid),
        &passwordless,
    );
    effects(&mut flow, Event::UserCreated(user()), &passwordless);
    let reaction = ok(&mut flow, Event::MethodsLoaded(vec![]), &passwordless);
    assert_eq!(reaction.problem, Some(Problem::NoSecondFactor));
}

#[test]
fn registration_may_switch_kind_while_a_code_is_out() {
    let config = mfa_config(vec![MfaMethod::EmailOtp, MfaMethod::Sms]);
    let (mut flow, _) = signed_in_with_password(&config);
    effects(&mut flow, Event::MethodsLoaded(vec![]), &config);
    effects(
        &mut flow,
        Event::Enrol {
            kind: MfaMethod::EmailOtp,
        },
        &config,
    );
    assert!(matches!(flow.step, Step::VerifyEnrolment { .. }));
    effects(
        &mut flow,
        Event::Enrol {
            kind: MfaMethod::Sms,
        },
        &config,
    );
    assert_eq!(flow.step, Step::EnrolPhone);
    assert_eq!(flow.challenge, None);
}

#[test]
fn a_sign_up_that_lost_the_race_for_its_address_says_so() {
    let config = UserFlowConfig {
        methods: vec![SignInMethod::EmailOtp],
        ..config()
    };
    let mut flow = at_verify_email(&config);
    effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    let reaction = ok(&mut flow, Event::AddressTaken, &config);
    assert_eq!(reaction.problem, Some(Problem::UserExists));
    assert!(!flow.is_done() && flow.user.is_none());
}

#[test]
fn passwordless_sign_up_creates_the_account_after_the_code() {
    let config = UserFlowConfig {
        methods: vec![SignInMethod::EmailOtp],
        ..config()
    };
    let mut flow = identify(Journey::SignUp, &config);
    effects(&mut flow, Event::UserLookedUp(None), &config);
    sent(&mut flow, &config);
    let out = effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(out, vec![Effect::CreateUser]);
    effects(&mut flow, Event::UserCreated(user()), &config);
    assert!(flow.is_done());
}

#[test]
fn sign_up_of_a_taken_address_tells_the_owner_and_goes_nowhere() {
    let config = config();
    let mut flow = identify(Journey::SignUp, &config);
    let out = effects(&mut flow, Event::UserLookedUp(Some(user())), &config);
    assert_eq!(
        out,
        vec![send_effect(
            OtpPurpose::SignUp,
            "ada@example.com",
            MessageKind::AccountExists
        )]
    );
    assert_eq!(flow.step, Step::VerifyEmail, "looks like any sign-up");
    assert!(flow.decoy);
    assert_eq!(
        effects(&mut flow, Event::ResendCode, &config),
        vec![send_effect(
            OtpPurpose::SignUp,
            "ada@example.com",
            MessageKind::AccountExists
        )]
    );
}

#[test]
fn sign_up_can_be_switched_off() {
    let config = UserFlowConfig {
        sign_up: false,
        ..config()
    };
    let mut flow = Flow::new(Journey::SignUp);
    let reaction = ok(
        &mut flow,
        Event::Identify {
            email: "a@b.c".into(),
            keep_signed_in: false,
        },
        &config,
    );
    assert_eq!(reaction.problem, Some(Problem::SignUpDisabled));
}

#[test]
fn password_reset() {
    let config = config();
    let mut flow = identify(Journey::ResetPassword, &config);
    let out = effects(&mut flow, Event::UserLookedUp(Some(user())), &config);
    assert_eq!(
        out,
        vec![send_effect(
            OtpPurpose::PasswordReset,
            "ada@example.com",
            MessageKind::Code
        )]
    );
    sent(&mut flow, &config);
    effects(&mut flow, Event::Code { code: "1".into() }, &config);
    effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(flow.step, Step::NewPassword);
    let recent = ok(
        &mut flow,
        Event::NewPasswordChecked(Err(PasswordProblem::RecentlyUsed)),
        &config,
    );
    assert_eq!(
        recent.problem,
        Some(Problem::Password(PasswordProblem::RecentlyUsed))
    );
    let out = effects(
        &mut flow,
        Event::NewPasswordChecked(Ok("hash".into())),
        &config,
    );
    assert_eq!(out, vec![Effect::SetPassword]);
    effects(&mut flow, Event::PasswordSet, &config);
    assert!(flow.is_done());
}

#[test]
fn a_disabled_account_keeps_its_password() {
    let config = config();
    let mut flow = identify(Journey::ResetPassword, &config);
    let disabled = UserFacts {
        enabled: false,
        ..user()
    };
    effects(&mut flow, Event::UserLookedUp(Some(disabled)), &config);
    sent(&mut flow, &config);
    let reaction = ok(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(reaction.problem, Some(Problem::AccountDisabled));
    assert!(reaction.effects.is_empty());
    assert_eq!(flow.step, Step::ResetCode);
    assert!(flow.password_hash.is_none());
}

#[test]
fn reset_for_an_unknown_address_sends_a_notice() {
    let config = config();
    let mut flow = identify(Journey::ResetPassword, &config);
    let out = effects(&mut flow, Event::UserLookedUp(None), &config);
    assert_eq!(
        out,
        vec![send_effect(
            OtpPurpose::PasswordReset,
            "ada@example.com",
            MessageKind::NoAccount
        )]
    );
    assert_eq!(flow.step, Step::ResetCode);
}

#[test]
fn disabled_accounts_stop_after_the_first_factor() {
    let config = config();
    let mut flow = identify(Journey::SignIn, &config);
    let disabled = UserFacts {
        enabled: false,
        ..user()
    };
    ok(
        &mut flow,
        Event::UserLookedUp(Some(disabled.clone())),
        &config,
    );
    effects(&mut flow, Event::UseEmailCode, &config);
    let reaction = ok(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(reaction.problem, Some(Problem::AccountDisabled));
    assert!(!flow.is_done());
}

#[test]
fn mfa_with_one_method_challenges_it() {
    let config = mfa_config(vec![MfaMethod::EmailOtp, MfaMethod::Sms]);
    let (mut flow, out) = signed_in_with_password(&config);
    assert_eq!(out, vec![Effect::LoadMethods]);
    let sms = method(MfaMethod::Sms, Some("+15551234567"));
    let out = effects(&mut flow, Event::MethodsLoaded(vec![sms.clone()]), &config);
    assert_eq!(
        out,
        vec![Effect::SendCode {
            purpose: OtpPurpose::Mfa,
            channel: Channel::Sms,
            to: "+15551234567".into(),
            message: MessageKind::Code,
        }]
    );
    assert_eq!(
        flow.step,
        Step::SecondFactor {
            method: sms.id,
            kind: MfaMethod::Sms
        }
    );
    sent(&mut flow, &config);
    assert_eq!(flow.code_recipient(), Some("+15551234567"));
    assert_eq!(
        effects(&mut flow, Event::Code { code: "1".into() }, &config),
        vec![Effect::CheckCode {
            purpose: OtpPurpose::Mfa,
            code: "1".into()
        }]
    );
    effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert!(flow.is_done());
    assert_eq!(flow.amr(), vec!["pwd", "mfa"]);
    assert_eq!(
        flow.second_factor,
        Some(MfaMethod::Sms),
        "the session records the kind"
    );
}

#[test]
fn mfa_with_several_methods_asks_which() {
    let config = mfa_config(vec![MfaMethod::Totp, MfaMethod::Sms]);
    let (mut flow, _) = signed_in_with_password(&config);
    let totp = method(MfaMethod::Totp, None);
    let sms = method(MfaMethod::Sms, Some("+15551234567"));
    effects(
        &mut flow,
        Event::MethodsLoaded(vec![totp.clone(), sms.clone()]),
        &config,
    );
    assert_eq!(flow.step, Step::ChooseSecondFactor);
    // A method that is not the user's is refused.
    assert!(
        flow.handle(
            Event::ChooseMethod {
                method: AuthMethodId::new_random()
            },
            &rules(&config)
        )
        .is_err()
    );
    assert_eq!(
        effects(&mut flow, Event::ChooseMethod { method: totp.id }, &config),
        vec![]
    );
    assert_eq!(
        effects(
            &mut flow,
            Event::Code {
                code: "123456".into()
            },
            &config
        ),
        vec![Effect::CheckTotp {
            method: totp.id,
            code: "123456".into()
        }]
    );
    // A recovery code serves instead.
    assert_eq!(
        effects(
            &mut flow,
            Event::RecoveryCode {
                code: "abcd".into()
            },
            &config
        ),
        vec![Effect::CheckRecoveryCode {
            code: "abcd".into()
        }]
    );
    effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert!(flow.is_done());
}

#[test]
fn email_cannot_be_the_second_factor_after_an_email_code() {
    let config = mfa_config(vec![MfaMethod::EmailOtp]);
    let mut flow = identify(Journey::SignIn, &config);
    ok(&mut flow, Event::UserLookedUp(Some(user())), &config);
    effects(&mut flow, Event::UseEmailCode, &config);
    let out = effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(out, vec![Effect::LoadMethods]);
    let email = method(MfaMethod::EmailOtp, Some("ada@example.com"));
    let reaction = ok(&mut flow, Event::MethodsLoaded(vec![email]), &config);
    assert_eq!(reaction.problem, Some(Problem::NoSecondFactor));
}

#[test]
fn a_first_factor_alone_never_registers_a_second_factor() {
    // The user's factor is their mailbox; with the mailbox as the first factor it cannot
    // serve, and the flow offers phones and apps: registering one would let whoever has the
    // mailbox pass MFA with their own phone.
    let config = mfa_config(vec![MfaMethod::EmailOtp, MfaMethod::Sms, MfaMethod::Totp]);
    let mut flow = identify(Journey::SignIn, &config);
    ok(&mut flow, Event::UserLookedUp(Some(user())), &config);
    effects(&mut flow, Event::UseEmailCode, &config);
    effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    let email = method(MfaMethod::EmailOtp, Some("ada@example.com"));
    let reaction = ok(&mut flow, Event::MethodsLoaded(vec![email]), &config);
    assert_eq!(reaction.problem, Some(Problem::NoSecondFactor));
    assert!(reaction.effects.is_empty());
    assert!(flow.enrolment_choices(&rules(&config)).is_empty());
    for kind in [MfaMethod::Sms, MfaMethod::Totp, MfaMethod::EmailOtp] {
        assert!(flow.handle(Event::Enrol { kind }, &rules(&config)).is_err());
    }
    assert!(!flow.is_done());

    // A factor of a kind this flow does not offer counts too.
    let config = mfa_config(vec![MfaMethod::Sms]);
    let (mut flow, _) = signed_in_with_password(&config);
    let app = method(MfaMethod::Totp, None);
    let reaction = ok(&mut flow, Event::MethodsLoaded(vec![app]), &config);
    assert_eq!(reaction.problem, Some(Problem::NoSecondFactor));
    assert!(
        flow.handle(
            Event::Enrol {
                kind: MfaMethod::Sms
            },
            &rules(&config)
        )
        .is_err()
    );
}

#[test]
fn a_flow_texts_at_most_three_numbers() {
    let config = mfa_config(vec![MfaMethod::Sms]);
    let (mut flow, _) = signed_in_with_password(&config);
    effects(&mut flow, Event::MethodsLoaded(vec![]), &config);
    assert_eq!(flow.step, Step::EnrolPhone);
    for number in [
        "+15550100001",
        "+15550100002",
        "+15550100003",
        "+15550100001",
    ] {
        let out = effects(
            &mut flow,
            Event::Phone {
                number: number.into(),
            },
            &config,
        );
        assert!(matches!(out.as_slice(), [Effect::SendCode { to, .. }] if to == number));
        effects(
            &mut flow,
            Event::Enrol {
                kind: MfaMethod::Sms,
            },
            &config,
        );
    }
    let refused = ok(
        &mut flow,
        Event::Phone {
            number: "+15550100004".into(),
        },
        &config,
    );
    assert_eq!(refused.problem, Some(Problem::TooManyPhoneNumbers));
    assert!(refused.effects.is_empty());
    assert_eq!(flow.step, Step::EnrolPhone);
    // The driver's per-user limit answers in place of the text.
    effects(
        &mut flow,
        Event::Phone {
            number: "+15550100002".into(),
        },
        &config,
    );
    let refused = ok(&mut flow, Event::NumberRefused, &config);
    assert_eq!(refused.problem, Some(Problem::TooManyPhoneNumbers));
    assert_eq!(flow.step, Step::EnrolPhone);
}

#[test]
fn texts_go_only_to_the_countries_the_tenant_allows() {
    let config = mfa_config(vec![MfaMethod::Sms]);
    let countries = vec!["+44".to_owned()];
    let uk_only = Rules {
        config: &config,
        reveal_accounts: false,
        sms_countries: &countries,
    };
    let (mut flow, _) = signed_in_with_password(&config);
    effects(&mut flow, Event::MethodsLoaded(vec![]), &config);
    assert_eq!(flow.step, Step::EnrolPhone);
    let refused = flow
        .handle(
            Event::Phone {
                number: "+15550100001".into(),
            },
            &uk_only,
        )
        .unwrap();
    assert_eq!(refused.problem, Some(Problem::PhoneCountryNotAllowed));
    assert!(refused.effects.is_empty(), "nothing texted");
    assert!(flow.texted_numbers.is_empty(), "and nothing counted");
    let sent = flow
        .handle(
            Event::Phone {
                number: "+447700900123".into(),
            },
            &uk_only,
        )
        .unwrap();
    assert!(matches!(sent.effects.as_slice(), [Effect::SendCode { .. }]));
    // A number registered before its country was taken off no longer serves.
    let (mut flow, _) = signed_in_with_password(&config);
    flow.methods = vec![method(MfaMethod::Sms, Some("+15550100001"))];
    assert!(flow.usable_second_factors(&uk_only).is_empty());
    assert_eq!(flow.usable_second_factors(&rules(&config)).len(), 1);
}

#[test]
fn a_factor_registered_elsewhere_meanwhile_ends_an_unproven_registration() {
    let config = mfa_config(vec![MfaMethod::Totp]);
    let (mut flow, _) = signed_in_with_password(&config);
    effects(&mut flow, Event::MethodsLoaded(vec![]), &config);
    assert_eq!(flow.step, Step::EnrolTotp);
    let refused = ok(&mut flow, Event::MethodTaken, &config);
    assert_eq!(refused.problem, Some(Problem::NoSecondFactor));
    assert!(!flow.mfa_done);
    assert!(flow.pending_totp.is_none());
    assert!(!flow.is_done());
}

#[test]
fn five_wrong_second_factor_codes_end_the_flow() {
    let config = mfa_config(vec![MfaMethod::Totp]);
    let (mut flow, _) = signed_in_with_password(&config);
    let app = method(MfaMethod::Totp, None);
    effects(&mut flow, Event::MethodsLoaded(vec![app]), &config);
    for left in (1..MAX_WRONG_SECOND_FACTOR_CODES).rev() {
        let wrong = ok(
            &mut flow,
            Event::CodeChecked(CodeCheck::Wrong {
                attempts_left: None,
            }),
            &config,
        );
        assert_eq!(
            wrong.problem,
            Some(Problem::WrongCode {
                attempts_left: Some(left)
            })
        );
    }
    let last = ok(
        &mut flow,
        Event::CodeChecked(CodeCheck::Wrong {
            attempts_left: None,
        }),
        &config,
    );
    assert_eq!(last.problem, Some(Problem::TooManyWrongCodes));
    // No code is even checked any more, recovery codes included.
    for event in [
        Event::Code {
            code: "123456".into(),
        },
        Event::RecoveryCode {
            code: "abcd".into(),
        },
    ] {
        let reaction = ok(&mut flow, event, &config);
        assert_eq!(reaction.problem, Some(Problem::TooManyWrongCodes));
        assert!(reaction.effects.is_empty());
    }
    // A locked factor is said so.
    let locked = ok(&mut flow, Event::CodeChecked(CodeCheck::Locked), &config);
    assert_eq!(locked.problem, Some(Problem::SecondFactorLocked));
    assert!(!flow.is_done());
}

#[test]
fn a_reset_passes_the_second_factor_before_the_new_password() {
    let config = mfa_config(vec![MfaMethod::Sms]);
    let mut flow = identify(Journey::ResetPassword, &config);
    effects(&mut flow, Event::UserLookedUp(Some(user())), &config);
    sent(&mut flow, &config);
    // The mailbox alone leads to the second factor, not to a new password.
    let out = effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(out, vec![Effect::LoadMethods]);
    assert!(
        flow.handle(
            Event::NewPassword {
                password: "new".into()
            },
            &rules(&config)
        )
        .is_err()
    );
    let phone = method(MfaMethod::Sms, Some("+15550100"));
    let out = effects(
        &mut flow,
        Event::MethodsLoaded(vec![phone.clone()]),
        &config,
    );
    assert!(matches!(
        out.as_slice(),
        [Effect::SendCode {
            purpose: OtpPurpose::Mfa,
            ..
        }]
    ));
    assert!(matches!(flow.step, Step::SecondFactor { .. }));
    sent(&mut flow, &config);
    // The flow cannot finish without the password, whatever comes back.
    assert!(flow.handle(Event::PasswordSet, &rules(&config)).is_err());
    effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(flow.step, Step::NewPassword);
    assert!(flow.mfa_done);
    let out = effects(
        &mut flow,
        Event::NewPasswordChecked(Ok("hash".into())),
        &config,
    );
    assert_eq!(out, vec![Effect::SetPassword]);
    effects(&mut flow, Event::PasswordSet, &config);
    assert!(flow.is_done());
    assert_eq!(flow.amr(), vec!["otp", "pwd", "mfa"]);
}

#[test]
fn a_reset_of_a_user_without_factors_registers_one_before_the_password() {
    let config = mfa_config(vec![MfaMethod::Totp]);
    let mut flow = identify(Journey::ResetPassword, &config);
    effects(&mut flow, Event::UserLookedUp(Some(user())), &config);
    sent(&mut flow, &config);
    effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    let out = effects(&mut flow, Event::MethodsLoaded(vec![]), &config);
    assert_eq!(out, vec![Effect::MakeTotpSecret]);
    effects(&mut flow, Event::TotpSecretMade("sealed".into()), &config);
    effects(
        &mut flow,
        Event::Code {
            code: "123456".into(),
        },
        &config,
    );
    let out = effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert!(matches!(
        out.as_slice(),
        [Effect::AddMethod {
            kind: MfaMethod::Totp,
            ..
        }]
    ));
    effects(
        &mut flow,
        Event::MethodAdded {
            method: method(MfaMethod::Totp, None),
            recovery_codes: true,
        },
        &config,
    );
    assert_eq!(flow.step, Step::RecoveryCodes);
    effects(&mut flow, Event::Acknowledge, &config);
    assert_eq!(flow.step, Step::NewPassword);
}

#[test]
fn step_up_goes_on_from_the_sessions_first_factor() {
    let config = mfa_config(vec![MfaMethod::EmailOtp, MfaMethod::Sms]);
    let mut flow = Flow::new(Journey::SignIn);
    let found = Event::SessionFound {
        user: user(),
        email: "ada@example.com".into(),
        first_factor: FirstFactor::Password,
        second_factor: None,
    };
    assert_eq!(
        effects(&mut flow, found, &config),
        vec![Effect::LoadMethods]
    );
    let email = method(MfaMethod::EmailOtp, Some("ada@example.com"));
    let out = effects(&mut flow, Event::MethodsLoaded(vec![email]), &config);
    assert_eq!(
        out,
        vec![send_effect(
            OtpPurpose::Mfa,
            "ada@example.com",
            MessageKind::Code
        )]
    );
    sent(&mut flow, &config);
    effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert!(flow.is_done());
    assert_eq!(flow.amr(), vec!["pwd", "mfa"]);
    assert_eq!(
        flow.second_factor,
        Some(MfaMethod::EmailOtp),
        "the session records the kind"
    );

    // A session that proved the mailbox cannot use the mailbox again.
    let mut flow = Flow::new(Journey::SignIn);
    let found = Event::SessionFound {
        user: user(),
        email: "ada@example.com".into(),
        first_factor: FirstFactor::EmailCode,
        second_factor: None,
    };
    effects(&mut flow, found, &config);
    let email = method(MfaMethod::EmailOtp, Some("ada@example.com"));
    let reaction = ok(&mut flow, Event::MethodsLoaded(vec![email]), &config);
    assert_eq!(reaction.problem, Some(Problem::NoSecondFactor));

    // Only sign-in flows step up.
    let mut reset = Flow::new(Journey::ResetPassword);
    let found = Event::SessionFound {
        user: user(),
        email: "ada@example.com".into(),
        first_factor: FirstFactor::Password,
        second_factor: None,
    };
    assert!(reset.handle(found, &rules(&config)).is_err());
}

#[test]
fn jit_registration_of_email_needs_a_code_unless_proven_here() {
    let config = mfa_config(vec![MfaMethod::EmailOtp]);
    let (mut flow, _) = signed_in_with_password(&config);
    let out = effects(&mut flow, Event::MethodsLoaded(vec![]), &config);
    assert_eq!(
        out,
        vec![send_effect(
            OtpPurpose::VerifyContact,
            "ada@example.com",
            MessageKind::Code
        )]
    );
    assert!(matches!(
        flow.step,
        Step::VerifyEnrolment {
            kind: MfaMethod::EmailOtp,
            ..
        }
    ));
    sent(&mut flow, &config);
    let out = effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(
        out,
        vec![Effect::AddMethod {
            kind: MfaMethod::EmailOtp,
            target: Some("ada@example.com".into())
        }]
    );
    let added = method(MfaMethod::EmailOtp, Some("ada@example.com"));
    effects(
        &mut flow,
        Event::MethodAdded {
            method: added,
            recovery_codes: true,
        },
        &config,
    );
    assert_eq!(flow.step, Step::RecoveryCodes);
    effects(&mut flow, Event::Acknowledge, &config);
    assert!(flow.is_done());
    assert!(flow.mfa_done);
}

#[test]
fn jit_registration_of_a_phone() {
    let config = mfa_config(vec![MfaMethod::Sms, MfaMethod::Totp]);
    let (mut flow, _) = signed_in_with_password(&config);
    effects(&mut flow, Event::MethodsLoaded(vec![]), &config);
    assert_eq!(flow.step, Step::ChooseEnrolment);
    assert!(
        flow.handle(
            Event::Enrol {
                kind: MfaMethod::EmailOtp
            },
            &rules(&config)
        )
        .is_err(),
        "not offered by this flow"
    );
    effects(
        &mut flow,
        Event::Enrol {
            kind: MfaMethod::Sms,
        },
        &config,
    );
    assert_eq!(flow.step, Step::EnrolPhone);
    let bad = ok(
        &mut flow,
        Event::Phone {
            number: "555".into(),
        },
        &config,
    );
    assert_eq!(bad.problem, Some(Problem::InvalidPhone));
    let out = effects(
        &mut flow,
        Event::Phone {
            number: "+1 555 123 4567".into(),
        },
        &config,
    );
    assert_eq!(
        out,
        vec![Effect::SendCode {
            purpose: OtpPurpose::VerifyContact,
            channel: Channel::Sms,
            to: "+15551234567".into(),
            message: MessageKind::Code,
        }]
    );
    sent(&mut flow, &config);
    let out = effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(
        out,
        vec![Effect::AddMethod {
            kind: MfaMethod::Sms,
            target: Some("+15551234567".into())
        }]
    );
    effects(
        &mut flow,
        Event::MethodAdded {
            method: method(MfaMethod::Sms, Some("+15551234567")),
            recovery_codes: false,
        },
        &config,
    );
    assert!(flow.is_done());
}

#[test]
fn jit_registration_of_an_authenticator_app() {
    let config = mfa_config(vec![MfaMethod::Totp]);
    let (mut flow, _) = signed_in_with_password(&config);
    let out = effects(&mut flow, Event::MethodsLoaded(vec![]), &config);
    assert_eq!(out, vec![Effect::MakeTotpSecret]);
    assert_eq!(flow.step, Step::EnrolTotp);
    assert!(
        flow.handle(Event::Code { code: "1".into() }, &rules(&config))
            .is_err(),
        "no secret yet"
    );
    effects(&mut flow, Event::TotpSecretMade("sealed".into()), &config);
    assert_eq!(
        effects(
            &mut flow,
            Event::Code {
                code: "123456".into()
            },
            &config
        ),
        vec![Effect::CheckPendingTotp {
            code: "123456".into()
        }]
    );
    let wrong = ok(
        &mut flow,
        Event::CodeChecked(CodeCheck::Wrong {
            attempts_left: None,
        }),
        &config,
    );
    assert!(wrong.problem.is_some());
    let out = effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(
        out,
        vec![Effect::AddMethod {
            kind: MfaMethod::Totp,
            target: None
        }]
    );
    effects(
        &mut flow,
        Event::MethodAdded {
            method: method(MfaMethod::Totp, None),
            recovery_codes: true,
        },
        &config,
    );
    assert_eq!(flow.pending_totp, None);
    assert_eq!(flow.step, Step::RecoveryCodes);
}

#[test]
fn an_address_proven_in_this_flow_registers_without_a_second_code() {
    let config = mfa_config(vec![MfaMethod::EmailOtp]);
    let (mut flow, _) = signed_in_with_password(&config);
    flow.email_verified = true;
    let out = effects(&mut flow, Event::MethodsLoaded(vec![]), &config);
    assert_eq!(
        out,
        vec![Effect::AddMethod {
            kind: MfaMethod::EmailOtp,
            target: Some("ada@example.com".into())
        }]
    );
}

#[test]
fn illegal_events_change_nothing() {
    let config = config();
    let cases: Vec<(Flow, Event)> = vec![
        (
            Flow::new(Journey::SignIn),
            Event::Password {
                password: "x".into(),
            },
        ),
        (Flow::new(Journey::SignIn), Event::Code { code: "1".into() }),
        (
            Flow::new(Journey::SignIn),
            Event::PasswordChecked(Ok(user())),
        ),
        (Flow::new(Journey::SignIn), Event::MethodsLoaded(vec![])),
        (
            Flow::new(Journey::SignUp),
            Event::NewPassword {
                password: "x".into(),
            },
        ),
        (Flow::new(Journey::SignUp), Event::Acknowledge),
        (Flow::new(Journey::ResetPassword), Event::ResendCode),
        (Flow::new(Journey::ResetPassword), Event::PasswordSet),
        (identify(Journey::SignUp, &config), Event::UseEmailCode),
        (
            Flow {
                step: Step::Done,
                ..Flow::new(Journey::SignIn)
            },
            Event::Code { code: "1".into() },
        ),
        (
            Flow {
                step: Step::Done,
                ..Flow::new(Journey::SignIn)
            },
            Event::MethodsLoaded(vec![]),
        ),
        (
            Flow {
                step: Step::Password,
                ..Flow::new(Journey::SignIn)
            },
            Event::Attributes {
                values: BTreeMap::new(),
            },
        ),
        (
            Flow {
                step: Step::NewPassword,
                ..Flow::new(Journey::SignIn)
            },
            Event::NewPasswordChecked(Ok("h".into())),
        ),
        (
            Flow {
                step: Step::RecoveryCodes,
                ..Flow::new(Journey::SignIn)
            },
            Event::Code { code: "1".into() },
        ),
    ];
    for (flow, event) in cases {
        let name = event.name();
        let mut changed = flow.clone();
        let result = changed.handle(event, &rules(&config));
        assert!(result.is_err(), "{name} at {}", flow.step.name());
        assert_eq!(changed, flow, "{name} changed the flow");
    }
}

#[test]
fn the_code_step_refuses_a_switch_when_the_flow_has_no_codes() {
    let config = UserFlowConfig {
        methods: vec![SignInMethod::Password],
        ..config()
    };
    let mut flow = identify(Journey::SignIn, &config);
    ok(&mut flow, Event::UserLookedUp(Some(user())), &config);
    assert!(flow.handle(Event::UseEmailCode, &rules(&config)).is_err());
}

#[test]
fn passwordless_flows_go_from_the_address_to_the_code() {
    let config = UserFlowConfig {
        methods: vec![SignInMethod::EmailOtp],
        ..config()
    };
    let mut flow = identify(Journey::SignIn, &config);
    let out = effects(&mut flow, Event::UserLookedUp(Some(user())), &config);
    assert!(
        matches!(out.as_slice(), [Effect::SendCode { .. }]),
        "{out:?}"
    );
    assert_eq!(flow.step, Step::SignInCode);
    // The button that sent the address asks for the code too: nothing more to do.
    let before = flow.clone();
    assert_eq!(effects(&mut flow, Event::UseEmailCode, &config), vec![]);
    assert_eq!(flow, before);
}

#[test]
fn flows_survive_serialisation() {
    let config = mfa_config(vec![MfaMethod::Sms]);
    let (mut flow, _) = signed_in_with_password(&config);
    effects(
        &mut flow,
        Event::MethodsLoaded(vec![method(MfaMethod::Sms, Some("+15551234567"))]),
        &config,
    );
    let json = serde_json::to_string(&flow).unwrap();
    let back: Flow = serde_json::from_str(&json).unwrap();
    assert_eq!(back, flow);
}

fn consent_ask(scopes: &[&str]) -> ConsentAsk {
    ConsentAsk {
        api: crate::ids::ClientId::new_random(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        always: false,
        granted: Vec::new(),
        settled: false,
    }
}

/// A password sign-in of a flow that must get consent to `scopes`, up to the password check.
fn signing_in_with_consent(scopes: &[&str], config: &UserFlowConfig) -> Flow {
    let mut flow = Flow::new(Journey::SignIn);
    flow.consent = Some(consent_ask(scopes));
    for event in [
        Event::Identify {
            email: "ada@example.com".into(),
            keep_signed_in: false,
        },
        Event::UserLookedUp(Some(user())),
        Event::Password {
            password: "pw".into(),
        },
    ] {
        ok(&mut flow, event, config);
    }
    flow
}

#[test]
fn consent_comes_after_authentication_and_finishes_the_flow_when_given() {
    let config = config();
    let mut flow = signing_in_with_consent(&["read", "write"], &config);
    let out = effects(&mut flow, Event::PasswordChecked(Ok(user())), &config);
    assert_eq!(out, vec![Effect::LoadConsent]);
    assert!(!flow.is_done());
    // The user had consented to `read` before: only `write` is asked.
    let out = effects(
        &mut flow,
        Event::ConsentLoaded(vec!["write".into()]),
        &config,
    );
    assert!(out.is_empty());
    assert_eq!(
        flow.step,
        Step::Consent {
            scopes: vec!["write".into()]
        }
    );
    let out = effects(&mut flow, Event::Consent { accept: true }, &config);
    assert_eq!(
        out,
        vec![Effect::RecordConsent {
            scopes: vec!["write".into()]
        }]
    );
    assert!(!flow.is_done(), "done only once the consent is recorded");
    effects(&mut flow, Event::ConsentRecorded, &config);
    assert!(flow.is_done());
}

#[test]
fn consent_already_given_everywhere_asks_nothing() {
    let config = config();
    let mut flow = signing_in_with_consent(&["read"], &config);
    effects(&mut flow, Event::PasswordChecked(Ok(user())), &config);
    effects(&mut flow, Event::ConsentLoaded(vec![]), &config);
    assert!(flow.is_done());
}

#[test]
fn a_declined_consent_ends_the_flow_without_finishing_it() {
    let config = config();
    let mut flow = signing_in_with_consent(&["read"], &config);
    effects(&mut flow, Event::PasswordChecked(Ok(user())), &config);
    effects(
        &mut flow,
        Event::ConsentLoaded(vec!["read".into()]),
        &config,
    );
    effects(&mut flow, Event::Consent { accept: false }, &config);
    assert_eq!(flow.step, Step::Declined);
    assert!(!flow.is_done());
    // Nothing moves a declined flow on: not a second answer, not a forged result.
    for event in [
        Event::Consent { accept: true },
        Event::ConsentRecorded,
        Event::ConsentLoaded(vec![]),
    ] {
        assert!(flow.handle(event, &rules(&config)).is_err());
    }
}

#[test]
fn consent_cannot_be_skipped_by_answering_before_authentication() {
    let config = config();
    let mut flow = Flow::new(Journey::SignIn);
    flow.consent = Some(consent_ask(&["read"]));
    for event in [
        Event::Consent { accept: true },
        Event::ConsentRecorded,
        Event::ConsentLoaded(vec![]),
    ] {
        assert!(flow.handle(event, &rules(&config)).is_err());
    }
}

#[test]
fn consent_waits_for_the_second_factor() {
    let config = mfa_config(vec![MfaMethod::EmailOtp]);
    let mut flow = signing_in_with_consent(&["read"], &config);
    let out = effects(&mut flow, Event::PasswordChecked(Ok(user())), &config);
    assert_eq!(
        out,
        vec![Effect::LoadMethods],
        "the second factor comes first"
    );
    let email = method(MfaMethod::EmailOtp, Some("ada@example.com"));
    effects(&mut flow, Event::MethodsLoaded(vec![email]), &config);
    sent(&mut flow, &config);
    let out = effects(&mut flow, Event::CodeChecked(CodeCheck::Valid), &config);
    assert_eq!(out, vec![Effect::LoadConsent]);
    assert!(matches!(flow.step, Step::Consent { .. }));
}

#[test]
fn a_session_that_passed_the_second_factor_goes_straight_to_consent() {
    let config = mfa_config(vec![MfaMethod::Totp]);
    let mut flow = Flow::new(Journey::SignIn);
    flow.consent = Some(consent_ask(&["read"]));
    let found = Event::SessionFound {
        user: user(),
        email: "ada@example.com".into(),
        first_factor: FirstFactor::Password,
        second_factor: Some(MfaMethod::Totp),
    };
    assert_eq!(
        effects(&mut flow, found, &config),
        vec![Effect::LoadConsent]
    );
    // A kind the flow does not accept does not count: the second factor is asked.
    let mut flow = Flow::new(Journey::SignIn);
    flow.consent = Some(consent_ask(&["read"]));
    let found = Event::SessionFound {
        user: user(),
        email: "ada@example.com".into(),
        first_factor: FirstFactor::Password,
        second_factor: Some(MfaMethod::EmailOtp),
    };
    assert_eq!(
        effects(&mut flow, found, &config),
        vec![Effect::LoadMethods]
    );
}
