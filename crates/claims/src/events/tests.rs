//! Requests as Microsoft documents and captures them (specs/entra-external-id-contracts.md
//! §2.3–2.7), read into the typed events; answers compared with Microsoft's, whole.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::*;

const TENANT: &str = "4d8e7f6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a";

fn context(user: Option<Value>) -> Value {
    let mut context = json!({
        "correlationId": "fcef74ef-29ea-42ca-b150-8f45c8f31ee6",
        "client": {"ip": "2a01:110:8012:1010:c9b5:3bd:7e6a:c8e9", "locale": "en-us", "market": "en-us"},
        "protocol": "OAUTH2.0",
        "clientServicePrincipal": {
            "id": "1a1a1a1a-0000-4000-8000-000000000001",
            "appId": "2b2b2b2b-0000-4000-8000-000000000002",
            "appDisplayName": "My Test application",
            "displayName": "My Test application"
        },
        "resourceServicePrincipal": {
            "id": "1a1a1a1a-0000-4000-8000-000000000001",
            "appId": "00000003-0000-0000-0000-000000000000",
            "appDisplayName": "Microsoft Graph",
            "displayName": "Microsoft Graph"
        }
    });
    if let (Some(user), Some(object)) = (user, context.as_object_mut()) {
        object.insert("user".into(), user);
    }
    context
}

fn envelope(kind: &str, data_type: &str, context: Value, extra: Value) -> Vec<u8> {
    let mut data = json!({
        "@odata.type": data_type,
        "tenantId": TENANT,
        "authenticationEventListenerId": "5c1f3b2a-0000-4000-8000-000000000003",
        "customAuthenticationExtensionId": "6d2e4c3b-0000-4000-8000-000000000004",
        "authenticationContext": context,
    });
    if let (Some(object), Value::Object(extra)) = (data.as_object_mut(), extra) {
        object.extend(extra);
    }
    serde_json::to_vec(&json!({
        "type": kind,
        "source": format!("/tenants/{TENANT}/applications/00000003-0000-0000-0000-000000000000"),
        "data": data,
    }))
    .unwrap()
}

#[test]
fn token_issuance_start_as_captured_for_a_local_account() {
    let body = envelope(
        "microsoft.graph.authenticationEvent.tokenIssuanceStart",
        "microsoft.graph.onTokenIssuanceStartCalloutData",
        context(Some(json!({
            "displayName": "Ada Lovelace",
            "id": "7c3a1e2f-0000-4000-8000-000000000005",
            "userPrincipalName": "7c3a1e2f-0000-4000-8000-000000000005@contoso.onmicrosoft.com",
            "userType": "Member"
        }))),
        json!({}),
    );
    let Ok(Event::TokenIssuanceStart(common)) = parse_event(&body) else {
        panic!("not read as token issuance");
    };
    assert_eq!(common.tenant_id, TENANT);
    let context = &common.authentication_context;
    assert_eq!(
        context.correlation_id,
        "fcef74ef-29ea-42ca-b150-8f45c8f31ee6"
    );
    assert_eq!(context.client.locale.as_deref(), Some("en-us"));
    let user = context.user.as_ref().unwrap();
    assert_eq!(user.display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(user.user_type.as_deref(), Some("Member"));
    assert_eq!(
        context
            .client_service_principal
            .as_ref()
            .unwrap()
            .app_id
            .as_deref(),
        Some("2b2b2b2b-0000-4000-8000-000000000002")
    );
}

#[test]
fn attribute_collection_start_and_submit_as_captured() {
    let sign_up = json!({"userSignUpInfo": {
        "attributes": {
            "EmailAddress": {"@odata.type": "microsoft.graph.stringDirectoryAttributeValue", "value": "ada@example.com", "attributeType": "builtIn"},
            "extension_b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6_SpecialDiet": {"@odata.Type": "microsoft.graph.stringDirectoryAttributeValue", "value": "Vegan,Kosher", "attributeType": "directorySchemaExtension"},
            "extension_b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6_Graduated": {"@odata.type": "microsoft.graph.int64DirectoryAttributeValue", "value": 2010, "attributeType": "directorySchemaExtension"}
        },
        "identities": [{"signInType": "federated", "issuer": "mail", "issuerAssignedId": "ada@example.com"}]
    }});
    let start = envelope(
        "microsoft.graph.authenticationEvent.attributeCollectionStart",
        "microsoft.graph.onAttributeCollectionStartCalloutData",
        context(None),
        sign_up.clone(),
    );
    let Ok(Event::AttributeCollectionStart(_, info)) = parse_event(&start) else {
        panic!("not read as attribute collection start");
    };
    assert_eq!(info.attributes["EmailAddress"].value, "ada@example.com");
    let diet = &info.attributes["extension_b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6_SpecialDiet"];
    assert_eq!(
        diet.odata_type, "microsoft.graph.stringDirectoryAttributeValue",
        "@odata.Type too"
    );
    assert_eq!(
        diet.attribute_type.as_deref(),
        Some("directorySchemaExtension")
    );
    assert_eq!(
        info.attributes["extension_b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6_Graduated"].value,
        2010
    );
    assert_eq!(info.identities[0].issuer.as_deref(), Some("mail"));
    let submit = envelope(
        "microsoft.graph.authenticationEvent.attributeCollectionSubmit",
        "microsoft.graph.onAttributeCollectionSubmitCalloutData",
        context(None),
        sign_up,
    );
    assert!(matches!(
        parse_event(&submit),
        Ok(Event::AttributeCollectionSubmit(_, _))
    ));
}

#[test]
fn otp_send_and_password_submit_as_documented() {
    let mut with_request_type = context(None);
    with_request_type["requestType"] = json!("signUp");
    with_request_type["client"]["ip"] = json!("0.0.0.0");
    let otp = envelope(
        "microsoft.graph.authenticationEvent.emailOtpSend",
        "microsoft.graph.onOtpSendCalloutData",
        with_request_type,
        json!({"otpContext": {"identifier": "someone@example.com", "oneTimeCode": "12345678"}}),
    );
    let Ok(Event::OtpSend(common, code)) = parse_event(&otp) else {
        panic!("not read as OTP send");
    };
    assert_eq!(code.identifier, "someone@example.com");
    assert_eq!(code.one_time_code, "12345678");
    assert_eq!(
        common.authentication_context.request_type.as_deref(),
        Some("signUp")
    );
    let password = envelope(
        "microsoft.graph.authenticationEvent.passwordSubmit",
        "microsoft.graph.onPasswordSubmitCalloutData",
        context(Some(json!({"id": "7c3a1e2f-0000-4000-8000-000000000005"}))),
        json!({"encryptedPasswordContext": "a.b.c.d.e"}),
    );
    let Ok(Event::PasswordSubmit(_, Some(jwe))) = parse_event(&password) else {
        panic!("not read as password submit");
    };
    assert_eq!(jwe, "a.b.c.d.e");
}

#[test]
fn refused_bodies() {
    for body in [
        b"{".to_vec(),
        b"[]".to_vec(),
        serde_json::to_vec(&json!({"type": "microsoft.graph.authenticationEvent.lunch", "data": {"authenticationContext": {"correlationId": "c"}}})).unwrap(),
        envelope(
            "microsoft.graph.authenticationEvent.tokenIssuanceStart",
            "microsoft.graph.onTokenIssuanceStartCalloutData",
            json!({"client": {}}),
            json!({}),
        ),
        envelope(
            "microsoft.graph.authenticationEvent.tokenIssuanceStart",
            "microsoft.graph.onTokenIssuanceStartCalloutData",
            context(Some(json!({"displayName": "no id"}))),
            json!({}),
        ),
    ] {
        assert!(parse_event(&body).is_err(), "{}", String::from_utf8_lossy(&body));
    }
}

/// Each answer, whole, as Microsoft's reference pages show it.
#[test]
fn answers_in_microsofts_exact_shapes() {
    let claims = BTreeMap::from([
        ("DateOfBirth".to_owned(), ClaimValue::from("01/01/2000")),
        (
            "CustomRoles".to_owned(),
            ClaimValue::from(vec!["Writer".to_owned(), "Editor".to_owned()]),
        ),
    ]);
    assert_eq!(
        claims_response(&claims),
        json!({"data": {"@odata.type": "microsoft.graph.onTokenIssuanceStartResponseData",
            "actions": [{"@odata.type": "microsoft.graph.tokenIssuanceStart.provideClaimsForToken",
                         "claims": {"DateOfBirth": "01/01/2000", "CustomRoles": ["Writer", "Editor"]}}]}})
    );
    let inputs: Map<String, Value> = [("city".to_owned(), json!("Berlin"))].into_iter().collect();
    assert_eq!(
        start_response(&StartAction::Prefill(inputs)),
        json!({"data": {"@odata.type": "microsoft.graph.onAttributeCollectionStartResponseData",
            "actions": [{"@odata.type": "microsoft.graph.attributeCollectionStart.setPrefillValues",
                         "inputs": {"city": "Berlin"}}]}})
    );
    assert_eq!(
        start_response(&StartAction::Block(None)),
        json!({"data": {"@odata.type": "microsoft.graph.onAttributeCollectionStartResponseData",
            "actions": [{"@odata.type": "microsoft.graph.attributeCollectionStart.showBlockPage"}]}})
    );
    assert_eq!(
        submit_response(&SubmitAction::ValidationError {
            message: "Please fix the following issues to proceed.".into(),
            attribute_errors: BTreeMap::from([(
                "city".to_owned(),
                "City cannot contain any numbers".to_owned()
            )]),
        }),
        json!({"data": {"@odata.type": "microsoft.graph.onAttributeCollectionSubmitResponseData",
            "actions": [{"@odata.type": "microsoft.graph.attributeCollectionSubmit.showValidationError",
                         "message": "Please fix the following issues to proceed.",
                         "attributeErrors": {"city": "City cannot contain any numbers"}}]}})
    );
    assert_eq!(
        submit_response(&SubmitAction::Continue),
        json!({"data": {"@odata.type": "microsoft.graph.onAttributeCollectionSubmitResponseData",
            "actions": [{"@odata.type": "microsoft.graph.attributeCollectionSubmit.continueWithDefaultBehavior"}]}})
    );
    assert_eq!(
        otp_response(OtpAction::Sent),
        json!({"data": {"@odata.type": "microsoft.graph.OnOtpSendResponseData",
            "actions": [{"@odata.type": "microsoft.graph.OtpSend.continueWithDefaultBehavior"}]}})
    );
    assert_eq!(
        password_response(&PasswordAction::Migrate, "n0nce"),
        json!({"data": {"@odata.type": "microsoft.graph.onPasswordSubmitResponseData",
            "actions": [{"@odata.type": "microsoft.graph.passwordSubmit.MigratePassword"}],
            "nonce": "n0nce"}})
    );
}
