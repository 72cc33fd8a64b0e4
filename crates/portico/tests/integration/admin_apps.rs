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

/// `client_credentials` with this secret, over HTTP Basic as the `oauth2` crate sends it.
async fn token_status(server: &TestServer, client_id: &str, secret: &str) -> u16 {
    reqwest::Client::new()
        .post(server.url("oauth2/v2.0/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", &format!("{client_id}/.default")),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_rotated_out_or_expired_client_secret_no_longer_gets_tokens() {
    let server = TestServer::start().await;
    let (client_id, first) = server.app(AppKind::Daemon).await;
    let first = first.unwrap();
    let portico = server.portico();
    let tenant = portico_core::directory::TenantRef::Id(server.tenant.id);
    let app = client_id.parse().unwrap();
    assert_eq!(token_status(&server, &client_id, &first).await, 200);
    // Rotation: a second secret works beside the first...
    let second = portico
        .add_client_secret(&tenant, app, Some(30))
        .await
        .unwrap();
    assert_eq!(token_status(&server, &client_id, &second.secret).await, 200);
    assert_eq!(token_status(&server, &client_id, &first).await, 200);
    // ...and once the first is removed, it is refused at once.
    let secrets = portico.list_client_secrets(&tenant, app).await.unwrap();
    assert_eq!(secrets.len(), 2);
    assert!(
        secrets
            .iter()
            .all(|s| s.secret_digest != first && s.hint.len() == 3)
    );
    let old = secrets.iter().find(|s| s.id != second.record.id).unwrap();
    portico
        .remove_client_secret(&tenant, app, &old.id)
        .await
        .unwrap();
    assert_eq!(token_status(&server, &client_id, &first).await, 401);
    assert_eq!(token_status(&server, &client_id, &second.secret).await, 200);
    // A secret past its expiry is refused like a wrong one.
    let stale = portico_core::store::ClientSecretRecord {
        id: "stale".into(),
        secret_digest: portico_core::secret::digest_secret("an-expired-secret"),
        created_at: 1_000,
        expires_at: Some(2_000),
        ..second.record.clone()
    };
    portico.store.add_client_secret(&stale).await.unwrap();
    assert_eq!(
        token_status(&server, &client_id, "an-expired-secret").await,
        401
    );
    // Public clients have no secrets, and a secret lives at most two years.
    let (spa, _) = server.app(AppKind::Spa).await;
    assert!(
        portico
            .add_client_secret(&tenant, spa.parse().unwrap(), None)
            .await
            .is_err()
    );
    assert!(
        portico
            .add_client_secret(&tenant, app, Some(731))
            .await
            .is_err()
    );
    server.stop().await;
}

#[tokio::test]
async fn client_secrets_rotate_through_the_admin_api_and_stay_inside_their_tenant() {
    let server = TestServer::start().await;
    let token = server.portico().create_admin_token().await.unwrap();
    let (client_id, first) = server.app(AppKind::Daemon).await;
    let first = first.unwrap();
    let client = reqwest::Client::new();
    let secrets = format!(
        "{}/admin/api/v1/tenants/{}/applications/{client_id}/secrets",
        server.base, server.tenant.id
    );
    // Added without a body: a year, and the secret shown once.
    let added = client
        .post(&secrets)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);
    let added: Value = added.json().await.unwrap();
    let second = added["secret"].as_str().unwrap().to_owned();
    let second_id = added["id"].as_str().unwrap().to_owned();
    assert_eq!(
        added["expires_at"].as_i64().unwrap() - added["created_at"].as_i64().unwrap(),
        365 * 24 * 3600
    );
    assert_eq!(added["hint"], &second[..3]);
    assert_eq!(token_status(&server, &client_id, &second).await, 200);
    let listed: Value = client
        .get(&secrets)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|s| s.get("secret").is_none() && s.get("secret_digest").is_none())
    );
    let old_id = listed
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .find(|id| *id != second_id)
        .unwrap()
        .to_owned();
    // Another tenant's path names no such app, so its secrets can be neither read nor removed.
    server
        .portico()
        .create_tenant("fabrikam", portico_keys::SigningAlgorithm::Rs256)
        .await
        .unwrap();
    let elsewhere = format!(
        "{}/admin/api/v1/tenants/fabrikam/applications/{client_id}/secrets",
        server.base
    );
    for response in [
        client
            .get(&elsewhere)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        client
            .delete(format!("{elsewhere}/{old_id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(token_status(&server, &client_id, &first).await, 200);
    let removed = client
        .delete(format!("{secrets}/{old_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(token_status(&server, &client_id, &first).await, 401);
    assert_eq!(token_status(&server, &client_id, &second).await, 200);
    // A lifetime out of range, and a public client, are refused with a problem document.
    let too_long = client
        .post(&secrets)
        .bearer_auth(&token)
        .json(&json!({"expires_in_days": 731}))
        .send()
        .await
        .unwrap();
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (spa, _) = server.app(AppKind::Spa).await;
    let public = client
        .post(secrets.replace(&client_id, &spa))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::UNPROCESSABLE_ENTITY);
    server.stop().await;
}
