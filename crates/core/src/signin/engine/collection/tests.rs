//! The attribute-collection transitions: what an extension may do to a sign-up, and what it
//! may not (add fields, change a sign-in, speak after it was answered).

use std::collections::BTreeMap;

use serde_json::json;

use super::super::*;
use crate::directory::{AttributeSpec, SignInMethod, UserFlowConfig};
use crate::ids::{OtpChallengeId, UserId};

fn config() -> UserFlowConfig {
    let mut config = UserFlowConfig {
        methods: vec![SignInMethod::EmailOtp],
        ..UserFlowConfig::default()
    };
    config.attributes = vec![
        AttributeSpec::parse_cli("city").unwrap(),
        AttributeSpec::parse_cli("postalCode:required").unwrap(),
    ];
    config
}

fn rules(config: &UserFlowConfig) -> Rules<'_> {
    Rules {
        config,
        reveal_accounts: false,
        sms_countries: &[],
    }
}

/// A passwordless sign-up whose code was just proven: the start extension is asked.
fn proven(config: &UserFlowConfig) -> Flow {
    let rules = rules(config);
    let mut flow = Flow::new(Journey::SignUp);
    for event in [
        Event::Identify {
            email: "ada@example.com".into(),
            keep_signed_in: false,
        },
        Event::UserLookedUp(None),
        Event::CodeSent(Ok(OtpChallengeId::new_random())),
    ] {
        flow.handle(event, &rules).unwrap();
    }
    let asked = flow
        .handle(Event::CodeChecked(CodeCheck::Valid), &rules)
        .unwrap();
    assert_eq!(asked.effects, vec![Effect::StartAttributeCollection]);
    flow
}

fn attributes(values: &[(&str, &str)]) -> Event {
    Event::Attributes {
        values: values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

#[test]
fn prefill_fills_only_the_flows_own_fields() {
    let config = config();
    let rules = rules(&config);
    let mut flow = proven(&config);
    let prefill = BTreeMap::from([
        ("city".to_owned(), "Oslo".to_owned()),
        ("isAdmin".to_owned(), "true".to_owned()),
    ]);
    flow.handle(
        Event::CollectionStarted(CollectionStart::Prefill(prefill)),
        &rules,
    )
    .unwrap();
    assert_eq!(flow.step, Step::Attributes);
    assert_eq!(
        flow.prefill,
        BTreeMap::from([("city".to_owned(), "Oslo".to_owned())])
    );
    // Asked once: a second answer is not taken.
    assert!(
        flow.handle(Event::CollectionStarted(CollectionStart::Continue), &rules)
            .is_err()
    );
}

#[test]
fn a_refusal_returns_to_the_attributes_and_a_change_reaches_the_account() {
    let config = config();
    let rules = rules(&config);
    let mut flow = proven(&config);
    flow.handle(Event::CollectionStarted(CollectionStart::Continue), &rules)
        .unwrap();
    let submitted = flow
        .handle(attributes(&[("postalCode", "ABC")]), &rules)
        .unwrap();
    assert_eq!(submitted.effects, vec![Effect::SubmitAttributes]);
    let errors = BTreeMap::from([("postalCode".to_owned(), "Digits only.".to_owned())]);
    let refused = flow
        .handle(
            Event::AttributesReviewed(AttributeReview::Refuse {
                message: Some("Check your details.".into()),
                errors: errors.clone(),
            }),
            &rules,
        )
        .unwrap();
    assert_eq!(
        refused.problem,
        Some(Problem::AttributesRefused {
            message: Some("Check your details.".into()),
            errors
        })
    );
    assert_eq!(flow.step, Step::Attributes);
    // The account cannot be made before the extension accepts: a forged result is refused.
    let forged = Event::UserCreated(UserFacts {
        id: UserId::new_random(),
        enabled: true,
        has_password: false,
    });
    assert!(flow.handle(forged, &rules).is_err());
    let again = flow
        .handle(attributes(&[("postalCode", "0150")]), &rules)
        .unwrap();
    assert_eq!(again.effects, vec![Effect::SubmitAttributes]);
    let modify = BTreeMap::from([
        ("city".to_owned(), json!("Oslo")),
        ("displayName".to_owned(), json!("Ada L.")),
        ("isAdmin".to_owned(), json!(true)),
    ]);
    let create = flow
        .handle(
            Event::AttributesReviewed(AttributeReview::Modify(modify)),
            &rules,
        )
        .unwrap();
    assert_eq!(create.effects, vec![Effect::CreateUser]);
    assert_eq!(flow.attributes["city"], "Oslo");
    assert_eq!(
        flow.attributes["displayName"], "Ada L.",
        "a built-in attribute"
    );
    assert!(
        !flow.attributes.contains_key("isAdmin"),
        "never a field of its own"
    );
}

#[test]
fn a_block_ends_the_sign_up_at_either_event() {
    let config = config();
    let rules = rules(&config);
    let mut blocked_early = proven(&config);
    blocked_early
        .handle(
            Event::CollectionStarted(CollectionStart::Block(Some("Not here.".into()))),
            &rules,
        )
        .unwrap();
    assert_eq!(
        blocked_early.step,
        Step::Blocked {
            message: Some("Not here.".into())
        }
    );
    assert!(
        blocked_early
            .handle(attributes(&[("postalCode", "1")]), &rules)
            .is_err()
    );

    let mut blocked_late = proven(&config);
    blocked_late
        .handle(Event::CollectionStarted(CollectionStart::Continue), &rules)
        .unwrap();
    blocked_late
        .handle(attributes(&[("postalCode", "1")]), &rules)
        .unwrap();
    blocked_late
        .handle(
            Event::AttributesReviewed(AttributeReview::Block(None)),
            &rules,
        )
        .unwrap();
    assert_eq!(blocked_late.step, Step::Blocked { message: None });
    assert!(!blocked_late.is_done());
}

#[test]
fn sign_ins_take_no_collection_answers() {
    let config = config();
    let rules = rules(&config);
    let mut flow = Flow::new(Journey::SignIn);
    assert!(
        flow.handle(Event::CollectionStarted(CollectionStart::Continue), &rules)
            .is_err()
    );
    assert!(
        flow.handle(Event::AttributesReviewed(AttributeReview::Continue), &rules)
            .is_err()
    );
}
