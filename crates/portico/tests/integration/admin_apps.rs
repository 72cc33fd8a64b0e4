//! Applications managed through the admin API after registration: listed, read, changed and
//! deleted, within their tenant only, and a change takes effect at once.

use portico_core::directory::AppKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::TestServer;

#[tokio::test]
async fn apps_are_listed_read_changed_and_deleted_through_the_admin_api() {
    let server = TestServer::start().await;
    let token = server.portico().create_admin_token().await.unwrap();
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{}/admin/api/v1{path}", server.base);
    let tenant = server.tenant.id.to_string();
    let apps = api(&format!("/tenants/{tenant}/applications"));
    let created: Value = client
        .post(&apps)
        .bearer_auth(&token)
        .json(&json!({"name": "Portal", "kind": "web", "redirect_uris": ["https://portal.example/cb"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let listed: Value = client
        .get(&apps)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["client_id"], id.as_str());
    assert!(listed[0].get("client_secret").is_none() && listed[0].get("secret_digest").is_none());
    let one = format!("{apps}/{id}");
    let changed = client
        .patch(&one)
        .bearer_auth(&token)
        .json(&json!({"name": "Portal 2", "optional_claims": ["givenName"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["name"], "Portal 2");
    assert_eq!(changed["optional_claims"], json!(["givenName"]));
    assert_eq!(
        changed["redirect_uris"],
        json!(["https://portal.example/cb"]),
        "left as it was"
    );
    // The rules of registration hold for changes: the native API is for public clients.
    let refused = client
        .patch(&one)
        .bearer_auth(&token)
        .json(&json!({"native_auth": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_field = client
        .patch(&one)
        .bearer_auth(&token)
        .json(&json!({"kind": "spa"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown_field.status(),
        StatusCode::BAD_REQUEST,
        "the kind cannot change"
    );
    // Through another tenant, or by something that is no client id: not found.
    let other: Value = client
        .post(api("/tenants"))
        .bearer_auth(&token)
        .json(&json!({"name": "elsewhere"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let theirs = format!(
        "{}/{id}",
        api(&format!(
            "/tenants/{}/applications",
            other["id"].as_str().unwrap()
        ))
    );
    for request in [
        client.get(&theirs),
        client.patch(&theirs).json(&json!({"name": "taken"})),
        client.delete(&theirs),
        client.get(format!("{apps}/not-a-client-id")),
    ] {
        let response = request.bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let deleted = client
        .delete(&one)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = client.get(&one).bearer_auth(&token).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn a_redirect_uri_taken_off_an_app_is_refused_at_once() {
    let server = TestServer::start().await;
    let (client_id, _) = server.app(AppKind::Web).await;
    let browser = crate::harness::browser();
    let before = crate::page::authorize(&server, &browser, &client_id, &[]).await;
    assert_eq!(before.status, 200, "{}", before.html);
    server
        .portico()
        .update_application(
            &portico_core::directory::TenantRef::Id(server.tenant.id),
            client_id.parse().unwrap(),
            portico_core::directory::AppChanges {
                redirect_uris: Some(vec!["https://moved.example/cb".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // The app was read (and cached) for the first request; the change still counts now, and
    // the old redirect URI gets an error page, never a redirect to it.
    let after = crate::page::authorize(&server, &browser, &client_id, &[]).await;
    assert_eq!(after.status, 400, "{}", after.html);
    server.stop().await;
}
