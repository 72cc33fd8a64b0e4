//! The sign-in engine under any sequence of submitted fields and effect results, and sign-up
//! attribute values: no panic, and a refused event leaves the flow as it was.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use portico_core::directory::{
    AttributeSpec, MfaMethod, MfaPolicy, UserFlowConfig, check_attributes,
};
use portico_core::ids::{AuthMethodId, ClientId, OtpChallengeId, UserId};
use portico_core::signin::engine::{
    CodeCheck, ConsentAsk, CredentialProblem, Event, FirstFactor, Flow, Journey, MethodFacts, Rules, UserFacts,
};

fn kind(u: &mut Unstructured<'_>) -> Result<MfaMethod> {
    Ok(*u.choose(&[MfaMethod::EmailOtp, MfaMethod::Sms, MfaMethod::Totp])?)
}

fn facts(u: &mut Unstructured<'_>) -> Result<UserFacts> {
    Ok(UserFacts {
        id: UserId::new_random(),
        enabled: u.arbitrary()?,
        has_password: u.arbitrary()?,
    })
}

fn event(u: &mut Unstructured<'_>) -> Result<Event> {
    let text: String = u.arbitrary()?;
    Ok(match u.int_in_range(0..=22)? {
        0 => Event::Identify {
            email: text,
            keep_signed_in: u.arbitrary()?,
        },
        1 => Event::Password { password: text },
        2 => Event::UseEmailCode,
        3 => Event::ResendCode,
        4 => Event::Code { code: text },
        5 => Event::RecoveryCode { code: text },
        6 => Event::NewPassword { password: text },
        7 => Event::Attributes {
            values: u.arbitrary()?,
        },
        8 => Event::Enrol { kind: kind(u)? },
        9 => Event::Phone { number: text },
        10 => Event::Acknowledge,
        11 => Event::UserLookedUp(if u.arbitrary()? { Some(facts(u)?) } else { None }),
        12 => Event::PasswordChecked(if u.arbitrary()? {
            Ok(facts(u)?)
        } else {
            Err(*u.choose(&[
                CredentialProblem::Invalid,
                CredentialProblem::LockedOut,
                CredentialProblem::Disabled,
                CredentialProblem::RateLimited,
            ])?)
        }),
        13 => Event::CodeSent(if u.arbitrary()? {
            Ok(OtpChallengeId::new_random())
        } else {
            Err(u.arbitrary()?)
        }),
        14 => Event::CodeChecked(match u.int_in_range(0..=5)? {
            0 => CodeCheck::Valid,
            1 => CodeCheck::Wrong {
                attempts_left: u.arbitrary()?,
            },
            2 => CodeCheck::Expired,
            3 => CodeCheck::Dead,
            4 => CodeCheck::Locked,
            _ => CodeCheck::RateLimited,
        }),
        15 => Event::NewPasswordChecked(Ok(text)),
        16 => Event::UserCreated(facts(u)?),
        17 => Event::AddressTaken,
        18 => Event::SessionFound {
            user: facts(u)?,
            email: text,
            first_factor: if u.arbitrary()? {
                FirstFactor::Password
            } else {
                FirstFactor::EmailCode
            },
            second_factor: if u.arbitrary()? { Some(kind(u)?) } else { None },
        },
        19 => Event::Consent {
            accept: u.arbitrary()?,
        },
        20 => Event::ConsentLoaded(u.arbitrary()?),
        21 => Event::ConsentRecorded,
        _ => Event::MethodsLoaded(vec![MethodFacts {
            id: AuthMethodId::new_random(),
            kind: kind(u)?,
            target: u.arbitrary()?,
        }]),
    })
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let mut config = UserFlowConfig::default();
    if u.arbitrary()? {
        config.mfa = MfaPolicy::Required;
        config.mfa_methods = vec![MfaMethod::EmailOtp, MfaMethod::Sms, MfaMethod::Totp];
    }
    for text in ["displayName:required", "age:int", "terms:bool:required"] {
        if let Ok(spec) = AttributeSpec::parse_cli(text) {
            config.attributes.push(spec);
        }
    }
    let submitted: BTreeMap<String, String> = u.arbitrary()?;
    let _ = check_attributes(&config.attributes, &submitted);

    let countries: Vec<String> = if u.arbitrary()? {
        vec!["+1".to_owned()]
    } else {
        Vec::new()
    };
    let rules = Rules {
        config: &config,
        reveal_accounts: u.arbitrary()?,
        sms_countries: &countries,
    };
    let journey = *u.choose(&[Journey::SignIn, Journey::SignUp, Journey::ResetPassword])?;
    let mut flow = Flow::new(journey);
    if u.arbitrary()? {
        flow.consent = Some(ConsentAsk {
            api: ClientId::new_random(),
            scopes: u.arbitrary()?,
            always: u.arbitrary()?,
            granted: Vec::new(),
            settled: false,
        });
    }
    while !u.is_empty() {
        let before = flow.clone();
        if flow.handle(event(u)?, &rules).is_err() {
            assert_eq!(flow, before, "a refused event changed the flow");
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
