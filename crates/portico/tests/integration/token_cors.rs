//! CORS on the token endpoint: single-page apps redeem codes and refresh tokens from the
//! browser on the origins of their redirect URIs, as on Entra; no other origin, and no other
//! kind of client, gets an answer a page could read, or spends a code cross-origin.

use portico_core::directory::{AppKind, NewApplication, TenantRef};
use serde_json::Value;

use crate::harness::{TestServer, authorize_and_sign_in, browser, param, pkce};

const EVIL: &str = "https://evil.example";

async fn preflight(server: &TestServer, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, server.url("oauth2/v2.0/token"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

async fn post_from(
    server: &TestServer,
    origin: &str,
    form: &[(&str, &str)],
) -> (u16, Option<String>, Value) {
    let response = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/token"))
        .header("origin", origin)
        .form(form)
        .send()
        .await
        .unwrap();
    let allowed = response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        response.status().as_u16(),
        allowed,
        response.json().await.unwrap(),
    )
}

/// A code for `client_id` (PKCE), signed in through the page.
async fn code_for(server: &TestServer, client_id: &str, redirect_uri: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let params = authorize_and_sign_in(
        server,
        &browser(),
        &[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("scope", "openid offline_access"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
        "spa@example.com",
    )
    .await;
    (param(&params, "code").unwrap().to_owned(), verifier)
}

#[tokio::test]
async fn spas_redeem_and_refresh_cross_origin_and_nobody_else_does() {
    let server = TestServer::start().await;
    server.user("spa@example.com").await;
    let (spa, _) = server.app(AppKind::Spa).await;
    let redirect = server.redirect_uri();
    let spa_origin = server.app_origin.clone();

    // The SPA's origin gets a preflight answer; another site gets none.
    let ok = preflight(&server, &spa_origin).await;
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        spa_origin.as_str()
    );
    assert!(
        ok.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let refused = preflight(&server, EVIL).await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // A page on another site cannot spend the SPA's code (a form POST needs no preflight).
    let (code, verifier) = code_for(&server, &spa, &redirect).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", spa.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, allowed, body) = post_from(&server, EVIL, &form).await;
    assert_eq!((status, allowed), (400, None), "{body}");
    assert_eq!(body["error"], "invalid_request");

    // The SPA itself redeems it, and refreshes, from its own origin.
    let (status, allowed, body) = post_from(&server, &spa_origin, &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(allowed.as_deref(), Some(spa_origin.as_str()));
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, allowed, body) = post_from(
        &server,
        &spa_origin,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", spa.as_str()),
            ("refresh_token", refresh.as_str()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(allowed.as_deref(), Some(spa_origin.as_str()));
    server.stop().await;
}

#[tokio::test]
async fn other_clients_get_no_cors_and_no_cross_origin_redemption() {
    let server = TestServer::start().await;
    server.user("spa@example.com").await;
    // A mobile app on a loopback redirect: it redeems its codes itself, never from a page.
    let web_origin = "http://localhost:4999";
    let web_redirect = format!("{web_origin}/signin-oidc");
    let created = server
        .portico()
        .create_application(
            &TenantRef::Id(server.tenant.id),
            NewApplication {
                name: "mobile".into(),
                kind: AppKind::Native,
                redirect_uris: vec![web_redirect.clone()],
                identifier_uri: None,
                optional_claims: Vec::new(),
                native_auth: false,
                cors_origins: Vec::new(),
                client_keys: Vec::new(),
                logout: Default::default(),
            },
        )
        .await
        .unwrap();
    let client_id = created.application.client_id.to_string();
    let refused = preflight(&server, web_origin).await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let (code, verifier) = code_for(&server, &client_id, &web_redirect).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", web_redirect.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, allowed, body) = post_from(&server, web_origin, &form).await;
    assert_eq!((status, allowed), (400, None), "{body}");
    // Without the browser in between, the same code works.
    let (status, body) = crate::harness::token_request(&server, &form).await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

/// At sign-out a single-page app revokes its refresh token from the browser (RFC 7009):
/// revocation answers CORS for the origins the token endpoint does, and no others.
#[tokio::test]
async fn a_spa_revokes_its_refresh_token_from_its_own_origin() {
    let server = TestServer::start().await;
    server.user("spa@example.com").await;
    let (spa, _) = server.app(AppKind::Spa).await;
    let redirect = server.redirect_uri();
    let spa_origin = server.app_origin.clone();
    let (code, verifier) = code_for(&server, &spa, &redirect).await;
    let (status, _, body) = post_from(
        &server,
        &spa_origin,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", spa.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", verifier.as_str()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let revoke_preflight = |origin: &str| {
        reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, server.url("oauth2/v2.0/revoke"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let ok = revoke_preflight(&spa_origin).await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        spa_origin.as_str()
    );
    assert_eq!(revoke_preflight(EVIL).await.unwrap().status(), 403);
    let revoked = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/revoke"))
        .header("origin", &spa_origin)
        .form(&[("client_id", spa.as_str()), ("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        revoked.headers()["access-control-allow-origin"],
        spa_origin.as_str()
    );
    let (status, _, body) = post_from(
        &server,
        &spa_origin,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", spa.as_str()),
            ("refresh_token", refresh.as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    server.stop().await;
}
