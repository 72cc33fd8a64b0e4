//! Pushed authorization requests (RFC 9126): the client pushes its request, the browser
//! carries only the one-time `request_uri`, and nothing the browser adds counts.

use portico_core::directory::{AppChanges, AppKind, TenantRef};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{PASSWORD, TestServer, browser, location_params, param, pkce, submit_sign_in};

/// Pushes an authorization request as `client_id` with its secret (`client_secret_basic`).
async fn push(
    server: &TestServer,
    client_id: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let redirect = server.redirect_uri();
    let mut form = vec![
        ("response_type", "code"),
        ("redirect_uri", redirect.as_str()),
        ("scope", "openid offline_access"),
        ("state", "pushed-state"),
    ];
    form.extend_from_slice(extra);
    let response = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/par"))
        .basic_auth(client_id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// GETs the authorization endpoint with `query` in `browser`.
async fn authorize(
    server: &TestServer,
    browser: &reqwest::Client,
    query: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .get(server.url("oauth2/v2.0/authorize"))
        .query(query)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_pushed_request_signs_in_once_and_only_for_its_client() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    let secret = secret.unwrap();
    let (verifier, challenge) = pkce();
    let (status, pushed) = push(
        &server,
        &client_id,
        &secret,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    assert_eq!(pushed["expires_in"], 60);
    let request_uri = pushed["request_uri"].as_str().unwrap().to_owned();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    // Someone else's client id with it: nothing (and the reference is not spent by that).
    let (other, _) = server.app(AppKind::Web).await;
    let browser = browser();
    let stolen = authorize(
        &server,
        &browser,
        &[("client_id", &other), ("request_uri", &request_uri)],
    )
    .await;
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);
    // The browser's own parameters do not count: only what was pushed.
    let page = authorize(
        &server,
        &browser,
        &[
            ("client_id", &client_id),
            ("request_uri", &request_uri),
            ("redirect_uri", "https://evil.example/cb"),
            ("state", "tampered"),
        ],
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK, "the sign-in page");
    let html = page.text().await.unwrap();
    let done = submit_sign_in(&server, &browser, &html, "alice@example.com", PASSWORD).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let redirect = location_params(&done);
    assert!(
        done.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&server.redirect_uri())
    );
    assert_eq!(param(&redirect, "state"), Some("pushed-state"));
    let code = param(&redirect, "code").unwrap();
    let tokens = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &server.redirect_uri()),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status(), StatusCode::OK);
    // Used once: the same reference again is refused.
    let again = authorize(
        &server,
        &browser,
        &[("client_id", &client_id), ("request_uri", &request_uri)],
    )
    .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn the_par_endpoint_refuses_what_the_authorization_endpoint_would_as_json() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    let secret = secret.unwrap();
    let (status, body) = push(
        &server,
        &client_id,
        &secret,
        &[("redirect_uri", "https://evil.example/cb")],
    )
    .await;
    // A repeated redirect_uri is malformed; a single unregistered one is refused too.
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let response = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/par"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");
    let (status, body) = push(&server, &client_id, &secret, &[("prompt", "sometimes")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, body) = push(&server, &client_id, "wrong", &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, body) = push(
        &server,
        &client_id,
        &secret,
        &[("request_uri", "urn:ietf:params:oauth:request_uri:x")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    // Discovery names the endpoint.
    let metadata: Value = reqwest::get(server.url("v2.0/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["pushed_authorization_request_endpoint"],
        server.url("oauth2/v2.0/par")
    );
    server.stop().await;
}

#[tokio::test]
async fn an_app_that_requires_par_refuses_requests_it_did_not_push() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    let secret = secret.unwrap();
    server
        .portico()
        .update_application(
            &TenantRef::Id(server.tenant.id),
            client_id.parse().unwrap(),
            AppChanges {
                require_par: Some(true),
                ..AppChanges::default()
            },
        )
        .await
        .unwrap();
    let redirect = server.redirect_uri();
    let plain = authorize(
        &server,
        &browser(),
        &[
            ("client_id", &client_id),
            ("response_type", "code"),
            ("redirect_uri", &redirect),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(plain.status(), StatusCode::FOUND);
    assert_eq!(
        param(&location_params(&plain), "error"),
        Some("invalid_request")
    );
    let (status, pushed) = push(&server, &client_id, &secret, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let page = authorize(
        &server,
        &browser(),
        &[
            ("client_id", &client_id),
            ("request_uri", pushed["request_uri"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK, "the sign-in page");
    server.stop().await;
}
