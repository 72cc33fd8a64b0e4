//! SCIM 2.0 provisioning (RFC 7644): the endpoint's authentication and its description of
//! itself. A tenant's SCIM token opens that tenant's endpoint only; every refusal is the SCIM
//! error schema.

use portico_core::directory::TenantRef;
use portico_keys::SigningAlgorithm;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::harness::TestServer;

/// GETs a SCIM path of `tenant` with `token`: status, content type and body.
async fn scim_get(
    server: &TestServer,
    tenant: &str,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, String, Value) {
    let mut request =
        reqwest::Client::new().get(format!("{}/{tenant}/scim/v2/{path}", server.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.json().await.unwrap())
}

fn assert_scim_401(status: StatusCode, content_type: &str, body: &Value) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(content_type, "application/scim+json");
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(
        body["status"], "401",
        "status is a string in the SCIM error schema"
    );
}

#[tokio::test]
async fn a_tenants_scim_token_opens_only_that_tenants_endpoint() {
    let server = TestServer::start().await;
    let tenant = server.tenant.id.to_string();
    let (token, record) = server
        .portico()
        .create_scim_token(&TenantRef::Id(server.tenant.id), Some(30))
        .await
        .unwrap();
    let (status, content_type, body) =
        scim_get(&server, &tenant, "ServiceProviderConfig", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(content_type, "application/scim+json");
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    );
    assert_eq!(body["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(
        body["meta"]["location"],
        server.url("scim/v2/ServiceProviderConfig")
    );
    // By name too.
    let (status, _, _) = scim_get(&server, "contoso", "ServiceProviderConfig", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);

    // No token, a made-up one, another tenant's, one for a tenant that does not exist.
    let (status, content_type, body) =
        scim_get(&server, &tenant, "ServiceProviderConfig", None).await;
    assert_scim_401(status, &content_type, &body);
    let (status, content_type, body) =
        scim_get(&server, &tenant, "ServiceProviderConfig", Some("made-up")).await;
    assert_scim_401(status, &content_type, &body);
    let other = server
        .portico()
        .create_tenant("fabrikam", SigningAlgorithm::Rs256)
        .await
        .unwrap();
    let (other_token, _) = server
        .portico()
        .create_scim_token(&TenantRef::Id(other.id), None)
        .await
        .unwrap();
    let (status, content_type, body) = scim_get(
        &server,
        &tenant,
        "ServiceProviderConfig",
        Some(&other_token),
    )
    .await;
    assert_scim_401(status, &content_type, &body);
    let (status, content_type, body) =
        scim_get(&server, "nowhere", "ServiceProviderConfig", Some(&token)).await;
    assert_scim_401(status, &content_type, &body);

    // Revoked: refused at once.
    server
        .portico()
        .revoke_scim_token(&TenantRef::Id(server.tenant.id), &record.id)
        .await
        .unwrap();
    let (status, content_type, body) =
        scim_get(&server, &tenant, "ServiceProviderConfig", Some(&token)).await;
    assert_scim_401(status, &content_type, &body);
    // Another tenant's token cannot be revoked from here.
    let listed = server
        .portico()
        .scim_tokens(&TenantRef::Id(other.id))
        .await
        .unwrap();
    assert!(
        server
            .portico()
            .revoke_scim_token(&TenantRef::Id(server.tenant.id), &listed[0].id)
            .await
            .is_err()
    );
    server.stop().await;
}

/// A SCIM request with `token` (a body goes as `application/scim+json`): status and body
/// (`null` when empty).
pub(crate) async fn scim_call(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", server.url("scim/v2")))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}
