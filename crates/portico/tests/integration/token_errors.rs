//! Token endpoint errors: RFC 6749 §5.2 codes and statuses, never a 500.

use portico_core::directory::AppKind;
use serde_json::Value;

use crate::harness::TestServer;

async fn post_token(server: &TestServer, form: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "token responses are never cached"
    );
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc6749() {
    let server = TestServer::start().await;
    let (web_id, web_secret) = server.app(AppKind::Web).await;
    let web_secret = web_secret.unwrap();
    let (spa_id, _) = server.app(AppKind::Spa).await;

    let cases: Vec<(&str, Vec<(&str, &str)>, u16, &str)> = vec![
        (
            "no grant_type",
            vec![("client_id", &spa_id)],
            400,
            "invalid_request",
        ),
        (
            "unknown grant_type",
            vec![("grant_type", "password"), ("client_id", &spa_id)],
            400,
            "unsupported_grant_type",
        ),
        (
            "wrong secret",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &web_id),
                ("client_secret", "wrong"),
                ("scope", "x/.default"),
            ],
            401,
            "invalid_client",
        ),
        (
            "unknown client",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "00000000-0000-0000-0000-000000000000"),
                ("client_secret", "x"),
            ],
            401,
            "invalid_client",
        ),
        (
            "malformed client id",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "not-a-guid"),
            ],
            401,
            "invalid_client",
        ),
        (
            "confidential client without secret",
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", &web_id),
                ("refresh_token", "x"),
            ],
            401,
            "invalid_client",
        ),
        (
            "public client presenting a secret",
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", &spa_id),
                ("client_secret", "x"),
                ("refresh_token", "x"),
            ],
            401,
            "invalid_client",
        ),
        (
            "public client using client_credentials",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &spa_id),
                ("scope", "x/.default"),
            ],
            400,
            "unauthorized_client",
        ),
        (
            "client_credentials without .default",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &web_id),
                ("client_secret", &web_secret),
                ("scope", "openid"),
            ],
            400,
            "invalid_scope",
        ),
        (
            "client_credentials for an unknown resource",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &web_id),
                ("client_secret", &web_secret),
                ("scope", "api://nothing-here/.default"),
            ],
            400,
            "invalid_scope",
        ),
        (
            "unknown authorization code",
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", &spa_id),
                ("code", "nope"),
                ("redirect_uri", "http://127.0.0.1/x"),
            ],
            400,
            "invalid_grant",
        ),
        (
            "code grant without code",
            vec![("grant_type", "authorization_code"), ("client_id", &spa_id)],
            400,
            "invalid_request",
        ),
        (
            "unknown refresh token",
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", &spa_id),
                ("refresh_token", "nope"),
            ],
            400,
            "invalid_grant",
        ),
        (
            "repeated parameter",
            vec![
                ("grant_type", "refresh_token"),
                ("grant_type", "refresh_token"),
            ],
            400,
            "invalid_request",
        ),
    ];
    for (name, form, status, error) in cases {
        let (got_status, body) = post_token(&server, &form).await;
        assert_eq!(got_status, status, "{name}: {body}");
        assert_eq!(body["error"], error, "{name}: {body}");
        assert!(body["error_description"].is_string(), "{name}");
    }
    server.stop().await;
}

#[tokio::test]
async fn token_endpoint_rejects_bad_transport() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    let url = server.url("oauth2/v2.0/token");

    let json = client
        .post(&url)
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 400);
    assert_eq!(
        json.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    let garbage = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0x00])
        .send()
        .await
        .unwrap();
    assert!(garbage.status().is_client_error());

    let oversized = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=x&pad={}", "a".repeat(200 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);

    let bad_basic = client
        .post(&url)
        .header("authorization", "Basic !!!")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_basic.status(), 400);

    let unknown_tenant = client
        .post(format!("{}/no-such-tenant/oauth2/v2.0/token", server.base))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(unknown_tenant.status().is_client_error());

    let get = client.get(&url).send().await.unwrap();
    assert_eq!(get.status(), 405);
    server.stop().await;
}

/// `client_secret_basic` with form-urlencoded credentials (RFC 6749 §2.3.1).
#[tokio::test]
async fn client_secret_basic_works_for_client_credentials() {
    let server = TestServer::start().await;
    let (daemon_id, secret) = server.app(AppKind::Daemon).await;
    let response = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/token"))
        .basic_auth(&daemon_id, secret.as_deref())
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", &format!("{daemon_id}/.default")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none());
    assert!(body.get("id_token").is_none());

    let both = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/token"))
        .basic_auth(&daemon_id, secret.as_deref())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", secret.as_deref().unwrap()),
            ("scope", &format!("{daemon_id}/.default")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        both.status(),
        400,
        "two client authentication methods at once"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_code_redeemed_after_its_sign_in_ended_is_refused() {
    let server = TestServer::start().await;
    let user = server.user("ended@example.com").await;
    let (client_id, _) = server.app(portico_core::directory::AppKind::Spa).await;
    let (verifier, challenge) = crate::harness::pkce();
    let redirect = server.redirect_uri();
    let params = crate::harness::authorize_and_sign_in(
        &server,
        &crate::harness::browser(),
        &[
            ("client_id", &client_id),
            ("response_type", "code"),
            ("redirect_uri", &redirect),
            ("scope", "openid offline_access"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
        "ended@example.com",
    )
    .await;
    let code = crate::harness::param(&params, "code").unwrap().to_owned();
    // Signed out everywhere before the app redeems it (an operator disables the account and
    // enables it again).
    server.sign_out_everywhere(user.id).await;
    let (status, body) = crate::harness::redeem(&server, &client_id, &code, &verifier).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    server.stop().await;
}
