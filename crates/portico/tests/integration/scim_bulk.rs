//! SCIM Bulk, /Me, and OAuth access tokens holding a SCIM role: bulkId references in any
//! order, a circle and failOnErrors, the limits ServiceProviderConfig advertises; a user's
//! own record with their access token; an app-only token with SCIM.ReadWrite provisions,
//! one with SCIM.Read only reads, and no token crosses tenants.

use portico_core::directory::{AppKind, TenantRef};
use portico_keys::SigningAlgorithm;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_access::Admin;
use crate::harness::{TestServer, browser, spa_tokens, token_request};
use crate::scim::scim_call as scim;

fn bulk(operations: Value, fail_on_errors: Option<u64>) -> Option<Value> {
    let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations});
    if let Some(n) = fail_on_errors {
        body["failOnErrors"] = n.into();
    }
    Some(body)
}

#[tokio::test]
async fn bulk_resolves_bulk_ids_in_any_order_and_stops_where_told() {
    let server = TestServer::start().await;
    let (token, _) = server
        .portico()
        .create_scim_token(&TenantRef::Id(server.tenant.id), None)
        .await
        .unwrap();
    let post = reqwest::Method::POST;
    // The group comes first and names a user made after it.
    let (status, body) = scim(&server, &token, post.clone(), "/Bulk", bulk(json!([
        {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"displayName": "Tour guides", "members": [{"type": "User", "value": "bulkId:u1"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"userName": "alice@example.com", "externalId": "e-1"}},
        {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "displayName", "value": "Alice"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"displayName": "A", "members": [{"value": "bulkId:b"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"displayName": "B", "members": [{"value": "bulkId:a"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "dup", "data": {"userName": "ALICE@example.com"}},
        {"method": "DELETE", "path": "/Nowhere/1"},
    ]), None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    );
    let results = body["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["201", "201", "200", "409", "409", "409", "404"],
        "{body}"
    );
    assert_eq!(results[0]["bulkId"], "g1");
    assert!(
        results[0]["location"]
            .as_str()
            .unwrap()
            .contains("/scim/v2/Groups/")
    );
    assert!(results[1]["version"].as_str().unwrap().starts_with("W/"));
    assert_eq!(results[5]["response"]["scimType"], "uniqueness");
    let (_, users) = scim(
        &server,
        &token,
        reqwest::Method::GET,
        "/Users?filter=userName%20eq%20%22alice@example.com%22",
        None,
    )
    .await;
    let alice = &users["Resources"][0];
    assert_eq!(alice["displayName"], "Alice");
    assert_eq!(
        alice["groups"][0]["display"], "Tour guides",
        "the group got the user the bulkId named"
    );

    // failOnErrors: 1 stops at the first error; what follows never runs.
    let (_, body) = scim(&server, &token, post.clone(), "/Bulk", bulk(json!([
        {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "not an email"}},
        {"method": "POST", "path": "/Users", "bulkId": "y", "data": {"userName": "never@example.com"}},
    ]), Some(1))).await;
    assert_eq!(body["Operations"].as_array().unwrap().len(), 1);
    let (_, found) = scim(
        &server,
        &token,
        reqwest::Method::GET,
        "/Users?filter=userName%20eq%20%22never@example.com%22",
        None,
    )
    .await;
    assert_eq!(found["totalResults"], 0);

    // A stale version, inside a Bulk request too.
    let id = alice["id"].as_str().unwrap();
    let (_, body) = scim(
        &server,
        &token,
        post.clone(),
        "/Bulk",
        bulk(
            json!([
                {"method": "DELETE", "path": format!("/Users/{id}"), "version": "W/\"1\""},
            ]),
            None,
        ),
    )
    .await;
    assert_eq!(body["Operations"][0]["status"], "412", "{body}");

    // The limits ServiceProviderConfig states hold, and refusals are SCIM errors.
    let (_, config) = scim(
        &server,
        &token,
        reqwest::Method::GET,
        "/ServiceProviderConfig",
        None,
    )
    .await;
    assert_eq!(config["bulk"]["supported"], true);
    let max_operations = config["bulk"]["maxOperations"].as_u64().unwrap() as usize;
    let max_payload = config["bulk"]["maxPayloadSize"].as_u64().unwrap() as usize;
    let many = vec![json!({"method": "DELETE", "path": "/Users/x"}); max_operations + 1];
    let (status, body) = scim(
        &server,
        &token,
        post.clone(),
        "/Bulk",
        bulk(Value::Array(many), None),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    let huge = json!([{"method": "POST", "path": "/Users", "bulkId": "h", "data": {"userName": "h@example.com", "nickName": "x".repeat(max_payload)}}]);
    let (status, body) = scim(&server, &token, post.clone(), "/Bulk", bulk(huge, None)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["status"], "413");
    let (status, body) = scim(
        &server,
        &token,
        post,
        "/Bulk",
        Some(json!({"Operations": []})),
    )
    .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidSyntax"))
    );
    server.stop().await;
}

#[tokio::test]
async fn me_is_the_signed_in_users_own_record() {
    let server = TestServer::start().await;
    let alice = server.user("alice@example.com").await;
    let tokens = spa_tokens(&server, &browser(), "alice@example.com").await;
    let (status, me) = scim(&server, tokens.access(), reqwest::Method::GET, "/Me", None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], alice.id.to_string());
    assert_eq!(me["userName"], "alice@example.com");
    // Not a provisioning token, not an ID token, and nothing to change here.
    let (scim_token, _) = server
        .portico()
        .create_scim_token(&TenantRef::Id(server.tenant.id), None)
        .await
        .unwrap();
    let (status, _) = scim(&server, &scim_token, reqwest::Method::GET, "/Me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = scim(
        &server,
        tokens.id_token(),
        reqwest::Method::GET,
        "/Me",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = scim(
        &server,
        tokens.access(),
        reqwest::Method::DELETE,
        "/Me",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // A user's token is no provisioning token: it does not list the directory.
    let (status, _) = scim(
        &server,
        tokens.access(),
        reqwest::Method::GET,
        "/Users",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn an_app_token_with_a_scim_role_provisions_and_a_read_role_only_reads() {
    let server = TestServer::start().await;
    let admin = Admin::new(&server).await;
    // Two APIs define the SCIM roles; only the one the tenant names for SCIM counts.
    let (api, _) = server.app(AppKind::Web).await;
    let (elsewhere, _) = server.app(AppKind::Web).await;
    for (app, uri) in [(&api, "api://directory"), (&elsewhere, "api://product")] {
        let (status, body) = admin
            .send(
                reqwest::Method::PUT,
                &format!("/{app}/api"),
                json!({"identifier_uri": uri, "roles": [
                    {"name": "SCIM.ReadWrite", "allowed": "apps"},
                    {"name": "SCIM.Read", "allowed": "apps"}
                ]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let tenant = TenantRef::Id(server.tenant.id);
    let mut settings = (*server
        .portico()
        .tenant_settings(server.tenant.id)
        .await
        .unwrap())
    .clone();
    settings.scim_api = Some(api.parse().unwrap());
    server
        .portico()
        .set_tenant_settings(&tenant, settings)
        .await
        .unwrap();
    let token_for = |role: &'static str, api: String, uri: &'static str| {
        let (server, admin) = (&server, &admin);
        async move {
            let (daemon, secret) = server.app(AppKind::Daemon).await;
            if !role.is_empty() {
                let (status, _) = admin.grant(&daemon, &api, &[], &[role]).await;
                assert_eq!(status, StatusCode::OK);
            }
            let secret = secret.unwrap();
            let (status, body) = token_request(
                server,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &daemon),
                    ("client_secret", &secret),
                    ("scope", &format!("{uri}/.default")),
                ],
            )
            .await;
            assert_eq!(status, 200, "{body}");
            (daemon, body["access_token"].as_str().unwrap().to_owned())
        }
    };
    let app_token = |role: &'static str| token_for(role, api.clone(), "api://directory");
    // A token for another API with the same role name reaches nothing here.
    let (_, foreign) = token_for("SCIM.ReadWrite", elsewhere.clone(), "api://product").await;
    let (status, _) = scim(&server, &foreign, reqwest::Method::GET, "/Users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (writer, write_token) = app_token("SCIM.ReadWrite").await;
    let (status, created) = scim(
        &server,
        &write_token,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "prov@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let entries = server
        .portico()
        .store
        .audit_entries(server.tenant.id, 0, 10)
        .await
        .unwrap();
    assert_eq!(entries[0].actor, format!("oauth-client:{writer}"));

    let (_, read_token) = app_token("SCIM.Read").await;
    let (status, _) = scim(&server, &read_token, reqwest::Method::GET, "/Users", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = scim(
        &server,
        &read_token,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "nope@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let id = created["id"].as_str().unwrap();
    let (status, _) = scim(
        &server,
        &read_token,
        reqwest::Method::DELETE,
        &format!("/Users/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = scim(
        &server,
        &read_token,
        reqwest::Method::POST,
        "/Bulk",
        bulk(
            json!([
                {"method": "DELETE", "path": format!("/Users/{id}")}
            ]),
            None,
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a read-only caller's Bulk request goes no further"
    );

    // No SCIM role: no entry. Another tenant's token with the role: no entry there.
    let (_, plain_token) = app_token("").await;
    let (status, _) = scim(&server, &plain_token, reqwest::Method::GET, "/Users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let other = server
        .portico()
        .create_tenant("fabrikam", SigningAlgorithm::Rs256)
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .get(format!("{}/{}/scim/v2/Users", server.base, other.id))
        .bearer_auth(&write_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}
