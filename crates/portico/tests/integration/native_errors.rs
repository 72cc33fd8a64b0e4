//! What the native API refuses and limits: its documented errors, stale tokens, CORS for listed
//! origins only, lockouts and codes shared with the hosted pages, restarts within the resend
//! window, and rate-limited lookups.

use portico_core::clock::ManualClock;
use portico_core::directory::AppKind;
use portico_core::signin::engine::Journey;
use portico_core::signin::{FlowOrigin, NativeClient};

use crate::harness::{PASSWORD, TestServer};
use crate::native_auth::{
    ORIGIN, app, assert_error, assert_oob, call, challenge, ct, initiate, msal_post, native_app,
    token,
};
use crate::otp_delivery::server_with_outbox;
use crate::page::mail_code;

#[tokio::test]
async fn documented_errors() {
    let server = TestServer::start().await;
    server.user("ada@example.com").await;
    let client_id = native_app(&server).await;
    let types = "oob password redirect";

    let (status, body) = initiate(&server, &client_id, "nobody@example.com", types).await;
    assert_error(status, &body, "user_not_found", 50034);
    let (status, body) = initiate(&server, &client_id, "not an address", types).await;
    assert_error(status, &body, "invalid_request", 90100);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("username parameter is empty or not valid")
    );
    let (status, body) = initiate(&server, &client_id, "ada@example.com", "oob password").await;
    assert_error(status, &body, "invalid_request", 901007);
    let (status, body) = initiate(&server, &client_id, "ada@example.com", "otp redirect").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_challenge_type"))
    );
    let (status, body) = call(
        &server,
        "oauth2/v2.0/initiate",
        &[("client_id", &client_id), ("username", "ada@example.com")],
    )
    .await;
    assert_error(status, &body, "invalid_request", 900144);

    // Apps without the native API, and unknown ones.
    let plain = app(&server, false).await;
    let (status, body) = initiate(&server, &plain, "ada@example.com", types).await;
    assert_error(status, &body, "invalid_client", 500208);
    assert_eq!(body["suberror"], "nativeauthapi_disabled");
    let (status, body) = initiate(
        &server,
        &uuid::Uuid::new_v4().to_string(),
        "ada@example.com",
        types,
    )
    .await;
    assert_error(status, &body, "invalid_client", 700016);

    // Continuation tokens: forged, from another step, for another app, expired.
    let (_, started) = initiate(&server, &client_id, "ada@example.com", types).await;
    let mut forged = ct(&started).to_owned();
    forged.insert(3, 'x');
    let (status, body) = challenge(&server, &client_id, &forged, types).await;
    assert_error(status, &body, "invalid_request", 55200);
    let (status, body) = token(
        &server,
        &client_id,
        &[
            ("grant_type", "oob"),
            ("continuation_token", ct(&started)),
            ("oob", "12345678"),
        ],
    )
    .await;
    assert_error(status, &body, "invalid_request", 901007);
    let other = native_app(&server).await;
    let (status, body) = challenge(&server, &other, ct(&started), types).await;
    assert_error(status, &body, "invalid_request", 55200);
    let (status, body) = token(
        &server,
        &client_id,
        &[
            ("grant_type", "password"),
            ("continuation_token", "nonsense"),
            ("password", "x"),
        ],
    )
    .await;
    assert_error(status, &body, "invalid_grant", 55200);
    let stale = stale_token(&server, &client_id).await;
    let (status, body) = challenge(&server, &client_id, &stale, types).await;
    assert_error(status, &body, "expired_token", 552003);
    server.stop().await;
}

/// A token issued eleven minutes ago, by a second `Portico` over the same store and master key
/// with its clock set back.
async fn stale_token(server: &TestServer, client_id: &str) -> String {
    let clock = ManualClock::new(server.portico().now() - 660);
    let past = server.portico_at(&clock);
    let flow = past
        .start_flow(
            &server.tenant,
            Some(client_id.parse().unwrap()),
            Journey::SignIn,
            FlowOrigin {
                native: Some(NativeClient::default()),
                ..FlowOrigin::default()
            },
            "127.0.0.1".parse().unwrap(),
        )
        .await
        .unwrap();
    past.continuation_token(&server.tenant, &flow, "signin", false)
        .unwrap()
}

#[tokio::test]
async fn cors_for_listed_origins_only() {
    let server = TestServer::start().await;
    server.user("ada@example.com").await;
    let client_id = native_app(&server).await;
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, server.url("oauth2/v2.0/initiate"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "client-request-id,x-client-sku,x-client-ver,content-type",
            )
            .send()
    };
    let allowed = preflight(ORIGIN).await.unwrap();
    assert_eq!(allowed.status(), 204);
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    assert_eq!(headers["access-control-allow-methods"], "POST");
    assert_eq!(
        headers["access-control-allow-headers"],
        "client-request-id,x-client-sku,x-client-ver,content-type"
    );
    assert!(headers.get("access-control-allow-credentials").is_none());
    let refused = preflight("https://evil.example").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let form = [
        ("client_id", client_id.as_str()),
        ("username", "ada@example.com"),
        ("challenge_type", "password redirect"),
    ];
    let response = msal_post(&server, "oauth2/v2.0/initiate", &form, Some(ORIGIN)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
    assert_eq!(
        response.headers()["access-control-expose-headers"],
        "client-request-id"
    );
    let response = msal_post(
        &server,
        "oauth2/v2.0/initiate",
        &form,
        Some("https://evil.example"),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // The token endpoint takes preflights too.
    let token_preflight = http
        .request(reqwest::Method::OPTIONS, server.url("oauth2/v2.0/token"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(token_preflight.status(), 204);
    server.stop().await;
}

#[tokio::test]
async fn hosted_pages_and_the_api_share_lockout_and_codes() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server.user("shared@example.com").await;
    let client_id = native_app(&server).await;
    let (web, _) = server.app(AppKind::Web).await;
    // Ten wrong passwords on the hosted page lock the account for the API too.
    let browser = crate::harness::browser();
    for i in 0..10 {
        let page = crate::harness::sign_in_page(&server, &browser, &web)
            .await
            .text()
            .await
            .unwrap();
        let response = crate::harness::submit_sign_in(
            &server,
            &browser,
            &page,
            "shared@example.com",
            &format!("guess-{i}-xyz"),
        )
        .await;
        assert_eq!(response.status(), 401);
    }
    let types = "oob password redirect";
    let (_, started) = initiate(&server, &client_id, "shared@example.com", types).await;
    let (_, asked) = challenge(&server, &client_id, ct(&started), types).await;
    let (status, locked) = token(
        &server,
        &client_id,
        &[
            ("grant_type", "password"),
            ("continuation_token", ct(&asked)),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_error(status, &locked, "invalid_grant", 50053);

    // A code sent through the API moments ago serves the page too: one code, not two, and no
    // "too many codes" for a person who starts over elsewhere.
    let (_, started) = initiate(&server, &client_id, "shared@example.com", "oob redirect").await;
    let (status, asked) = challenge(&server, &client_id, ct(&started), "oob redirect").await;
    assert_eq!(status, 200, "{asked}");
    let page = crate::page::authorize(&server, &browser, &web, &[])
        .await
        .submit(
            &browser,
            &[("action", "use_code"), ("email", "shared@example.com")],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains(r#"name="code""#), "{}", page.html);
    let code = mail_code(dir.path()).await;
    let signed_in = page
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert!(signed_in.signed_in(), "{}", signed_in.html);
    let resent = crate::page::authorize(&server, &browser, &web, &[("prompt", "login")])
        .await
        .submit(
            &browser,
            &[("action", "use_code"), ("email", "shared@example.com")],
        )
        .await;
    // That code is spent now: signing in again right away gets a new one (the address was
    // just proven), not "too many codes".
    assert!(resent.html.contains(r#"name="code""#), "{}", resent.html);
    let again = mail_code(dir.path()).await;
    assert_ne!(again, code);
    let signed_in = resent
        .submit(&browser, &[("action", "verify"), ("code", &again)])
        .await;
    assert!(signed_in.signed_in(), "{}", signed_in.html);
    server.stop().await;
}

#[tokio::test]
async fn restarting_a_sign_in_within_the_resend_window_keeps_a_working_code() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server.user("again@example.com").await;
    let client_id = native_app(&server).await;
    let types = "oob redirect";
    let (_, first) = initiate(&server, &client_id, "again@example.com", types).await;
    let (status, _) = challenge(&server, &client_id, ct(&first), types).await;
    assert_eq!(status, 200);
    let code = mail_code(dir.path()).await;
    // The app restarts its sign-in seconds later (a reload, a second device): the person gets
    // a code step, and the code already in the mailbox works for it.
    let (_, second) = initiate(&server, &client_id, "again@example.com", types).await;
    let (status, asked) = challenge(&server, &client_id, ct(&second), types).await;
    assert_eq!(status, 200, "{asked}");
    assert_oob(&asked, "email", "a***n@e*****e.com");
    let (status, tokens) = token(
        &server,
        &client_id,
        &[
            ("grant_type", "oob"),
            ("continuation_token", ct(&asked)),
            ("oob", &code),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    server.stop().await;
}

#[tokio::test]
async fn lookups_that_reveal_accounts_are_rate_limited() {
    // A budget that refills too slowly to matter during the test (the defaults, sized for
    // offices behind one address, are checked in `ratelimit`'s unit tests).
    let server = TestServer::start_configured(
        crate::harness::Backend::Sqlite,
        portico_keys::SigningAlgorithm::Rs256,
        |s| {
            s.rate_limits.lookups = portico_core::ratelimit::Rate {
                per_minute: 1,
                burst: 20,
            }
        },
    )
    .await
    .unwrap();
    let client_id = native_app(&server).await;
    // The contract answers `user_not_found`, so a burst of guesses from one address is cut off.
    let mut answers = Vec::new();
    for i in 0..21 {
        let username = format!("guess{i}@example.com");
        answers.push(initiate(&server, &client_id, &username, "oob password redirect").await);
    }
    for (status, body) in &answers[..20] {
        assert_error(*status, body, "user_not_found", 50034);
    }
    let (status, body) = answers.last().unwrap();
    assert_eq!(*status, 429, "{body}");
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_codes"], serde_json::json!([90055]));
    server.stop().await;
}
