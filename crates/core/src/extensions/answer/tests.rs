use proptest::prelude::*;
use serde_json::json;

use super::*;

const JSON: Option<&str> = Some("application/json; charset=utf-8");

fn parse(event: ExtensionEvent, body: &serde_json::Value) -> Result<Answer, AnswerError> {
    parse_answer(event, 200, JSON, body.to_string().as_bytes(), None)
}

fn code(result: Result<Answer, AnswerError>) -> u32 {
    result.expect_err("refused").code
}

#[test]
fn microsofts_sample_answers_are_read() {
    // custom-claims-provider-reference: provideClaimsForToken.
    let answer = parse(
        ExtensionEvent::TokenIssuanceStart,
        &json!({"data": {"@odata.type": "microsoft.graph.onTokenIssuanceStartResponseData",
            "actions": [{"@odata.type": "microsoft.graph.tokenIssuanceStart.provideClaimsForToken",
                "claims": {"DateOfBirth": "01/01/2000", "CustomRoles": ["Writer", "Editor"]}}]}}),
    )
    .unwrap();
    let Answer::ProvideClaims(claims) = answer else {
        unreachable!("{answer:?}")
    };
    assert_eq!(claims["DateOfBirth"], ClaimValue::Text("01/01/2000".into()));
    assert_eq!(
        claims["CustomRoles"],
        ClaimValue::List(vec!["Writer".into(), "Editor".into()])
    );

    // OnOtpSend, with its documented capitalisation.
    assert_eq!(
        parse(
            ExtensionEvent::OtpSend,
            &json!({"data": {"@odata.type": "microsoft.graph.OnOtpSendResponseData",
                "actions": [{"@odata.type": "microsoft.graph.OtpSend.continueWithDefaultBehavior"}]}}),
        ),
        Ok(Answer::Continue)
    );

    // Attribute collection: prefill, modify, validation errors, block (with "@odata.Type").
    let prefill = parse(
        ExtensionEvent::AttributeCollectionStart,
        &json!({"data": {"@odata.type": "microsoft.graph.onAttributeCollectionStartResponseData",
            "actions": [{"@odata.type": "microsoft.graph.attributeCollectionStart.setPrefillValues",
                "inputs": {"city": "Berlin", "extension_0cae61cc83e94edd978ec2fde3c5f2f3_Age": 30}}]}}),
    );
    assert!(
        matches!(prefill, Ok(Answer::Prefill(ref m)) if m["city"] == "Berlin"),
        "{prefill:?}"
    );
    let errors = parse(
        ExtensionEvent::AttributeCollectionSubmit,
        &json!({"data": {"actions": [{"@odata.Type": "microsoft.graph.attributeCollectionSubmit.showValidationError",
            "message": "Please fix below errors to proceed",
            "attributeErrors": {"city": "City cannot contain any numbers"}}]}}),
    )
    .unwrap();
    assert_eq!(
        errors,
        Answer::ValidationError {
            message: Some("Please fix below errors to proceed".into()),
            attribute_errors: [(
                "city".to_owned(),
                "City cannot contain any numbers".to_owned()
            )]
            .into(),
        }
    );
    assert_eq!(
        parse(
            ExtensionEvent::AttributeCollectionSubmit,
            &json!({"data": {"actions": [{"@odata.type": "microsoft.graph.attributeCollectionSubmit.showBlockPage",
                "message": "Your access request is already processing."}]}}),
        ),
        Ok(Answer::Block {
            title: None,
            message: Some("Your access request is already processing.".into())
        })
    );

    // Password submit: the table's casing and the sample code's lower-case `passwordsubmit`.
    for action in [
        "microsoft.graph.passwordSubmit.MigratePassword",
        "microsoft.graph.passwordsubmit.MigratePassword",
    ] {
        let body = json!({"data": {"@odata.type": "microsoft.graph.onPasswordSubmitResponseData",
            "actions": [{"@odata.type": action}], "nonce": "n-1"}});
        assert_eq!(
            parse_answer(
                ExtensionEvent::PasswordSubmit,
                200,
                JSON,
                body.to_string().as_bytes(),
                Some("n-1")
            ),
            Ok(Answer::MigratePassword)
        );
        assert_eq!(
            code(parse_answer(
                ExtensionEvent::PasswordSubmit,
                200,
                JSON,
                body.to_string().as_bytes(),
                Some("n-2")
            )),
            1_003_003,
            "an answer to another request"
        );
    }
}

#[test]
fn what_entra_refuses_is_refused_with_its_number() {
    let one = |action: serde_json::Value| json!({"data": {"actions": [action]}});
    let claims = |claims: serde_json::Value| {
        one(
            json!({"@odata.type": "microsoft.graph.tokenIssuanceStart.provideClaimsForToken", "claims": claims}),
        )
    };
    let token = ExtensionEvent::TokenIssuanceStart;
    let ok_body = claims(json!({"a": "b"})).to_string();
    assert_eq!(
        code(parse_answer(token, 500, JSON, ok_body.as_bytes(), None)),
        1_003_002
    );
    assert_eq!(
        code(parse_answer(
            token,
            200,
            Some("text/plain"),
            ok_body.as_bytes(),
            None
        )),
        1_003_006
    );
    assert_eq!(
        code(parse_answer(token, 200, None, ok_body.as_bytes(), None)),
        1_003_006
    );
    assert_eq!(code(parse_answer(token, 200, JSON, b"  ", None)), 1_003_009);
    assert_eq!(
        code(parse_answer(token, 200, JSON, b"{not json", None)),
        1_003_003
    );
    let huge = vec![b' '; MAX_ANSWER_BYTES + 1];
    let mut huge = huge;
    huge[0] = b'{';
    assert_eq!(code(parse_answer(token, 200, JSON, &huge, None)), 1_003_024);
    assert_eq!(
        code(parse(token, &json!({"data": {"actions": []}}))),
        1_003_010
    );
    let action = json!({"@odata.type": "microsoft.graph.tokenIssuanceStart.provideClaimsForToken", "claims": {}});
    assert_eq!(
        code(parse(
            token,
            &json!({"data": {"actions": [action.clone(), action]}})
        )),
        1_003_010
    );
    assert_eq!(
        code(parse(
            token,
            &one(
                json!({"@odata.type": "microsoft.graph.attributeCollectionStart.continueWithDefaultBehavior"})
            )
        )),
        1_003_012,
        "an action of another event"
    );
    assert_eq!(code(parse(token, &one(json!({"claims": {}})))), 1_003_012);
    assert_eq!(
        code(parse(token, &claims(serde_json::Value::Null))),
        1_003_007
    );
    assert_eq!(code(parse(token, &claims(json!({"": "x"})))), 1_003_026);
    assert_eq!(code(parse(token, &claims(json!({" ": "x"})))), 1_003_026);
    assert_eq!(
        code(parse(token, &claims(json!({"n": 5})))),
        1_003_003,
        "not a string"
    );
    assert_eq!(
        code(parse(token, &claims(json!({"n": ["a", true]})))),
        1_003_003
    );
    assert_eq!(
        code(parse(token, &claims(json!({"n": {"nested": "x"}})))),
        1_003_003
    );
    assert_eq!(
        code(parse(
            token,
            &claims(json!({"n": "x".repeat(MAX_CLAIMS_BYTES)}))
        )),
        1_003_025
    );
    assert_eq!(
        code(parse(token, &json!({"actions": []}))),
        1_003_003,
        "no data"
    );
}

#[test]
fn events_have_names_both_ways() {
    for event in ExtensionEvent::ALL {
        assert_eq!(event.as_str().parse::<ExtensionEvent>(), Ok(event));
        assert!(
            event
                .wire_type()
                .starts_with("microsoft.graph.authenticationEvent.")
        );
    }
    assert!("token-issuance".parse::<ExtensionEvent>().is_err());
}

proptest! {
    /// Any body an extension may send is read or refused, never a panic.
    #[test]
    fn any_answer_is_read_or_refused(body in proptest::collection::vec(any::<u8>(), 0..512), event in 0usize..5) {
        let event = ExtensionEvent::ALL[event];
        let _ = parse_answer(event, 200, JSON, &body, Some("n"));
    }
}
