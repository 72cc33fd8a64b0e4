//! Token issuance in the browser flows: the token-issuance extension is asked when the code is
//! issued, at the end of the person's sign-in, so that a failure shows them Portico's page
//! (as Entra shows its own) instead of surfacing only as an error at the app's back end. Its
//! answer travels with the code: redeeming makes no second call, and a hybrid flow's
//! front-channel ID token carries the same claims as the tokens redeemed for its code.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use openidconnect::core::{CoreIdToken, CoreResponseType};
use openidconnect::{AuthenticationFlow, AuthorizationCode, TokenResponse};
use portico_core::directory::{AppKind, TenantRef};
use serde_json::json;

use crate::extensions::{bind, new_extension, serve};
use crate::harness::{
    PASSWORD, TestServer, authorize_and_sign_in, browser, oidc_http, param, verified_claims,
    web_app_tokens,
};
use crate::implicit_hybrid::{request, set_implicit};
use crate::rp::{no_redirects, oidc_client, pairs};

/// A receiver that answers `loyaltyTier: call-N` (N counts its calls), or 500 while `failing`.
#[derive(Clone, Default)]
struct Counting {
    calls: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl Counting {
    fn router(&self) -> axum::Router {
        let this = self.clone();
        axum::Router::new().route(
            "/claims",
            axum::routing::post(move || {
                let this = this.clone();
                async move {
                    let n = this.calls.fetch_add(1, Ordering::SeqCst) + 1;
                    if this.failing.load(Ordering::SeqCst) {
                        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                    }
                    let body = json!({"data": {
                        "@odata.type": "microsoft.graph.onTokenIssuanceStartResponseData",
                        "actions": [{
                            "@odata.type": "microsoft.graph.tokenIssuanceStart.provideClaimsForToken",
                            "claims": {"loyaltyTier": format!("call-{n}")}
                        }]
                    }});
                    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
                }
            }),
        )
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Serves this receiver and registers it as `app`'s token-issuance extension (no retry,
    /// so each failure is one call).
    async fn attach(&self, server: &TestServer, app: &str) {
        let (listener, url) = bind().await;
        serve(listener, self.router());
        let mut new = new_extension("loyalty", &url, &[app]);
        new.retries = Some(0);
        server
            .portico()
            .create_extension(&TenantRef::Id(server.tenant.id), new)
            .await
            .unwrap();
    }
}

/// A server with alice, a confidential web app, and `receiver` as its extension.
async fn with_extension(receiver: &Counting) -> (TestServer, String, String) {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (web, secret) = server.app(AppKind::Web).await;
    receiver.attach(&server, &web).await;
    (server, web, secret.unwrap())
}

#[tokio::test]
async fn a_failing_extension_shows_the_person_a_page_and_a_silent_request_an_error_in_chromium() {
    use crate::browser::{Driver, authorize_url, fill_and_press, wait_for_text, wait_for_url};
    let Some(driver) = Driver::start().await else {
        return;
    };
    let receiver = Counting::default();
    receiver.failing.store(true, Ordering::SeqCst);
    let (server, web, secret) = with_extension(&receiver).await;
    let browser = &driver.client;
    let redirect = server.redirect_uri();

    // The person signs in; the extension fails: Portico's page, not a trip to the app.
    let authorize = authorize_url(&server, &web, &[("scope", "openid"), ("state", "s1")]);
    browser.goto(authorize.as_str()).await.unwrap();
    fill_and_press(
        browser,
        "input#password",
        &[
            ("input#email", "alice@example.com"),
            ("input#password", PASSWORD),
        ],
        "button[type=submit]",
    )
    .await;
    wait_for_text(browser, "sign you in right now").await;
    let at = browser.current_url().await.unwrap();
    assert!(
        at.as_str().starts_with(&server.base),
        "the person stays on Portico: {at}"
    );
    assert_eq!(receiver.calls(), 1);

    // A silent request (an SPA's hidden renewal) has no one to show a page to: the app gets
    // temporarily_unavailable at its redirect URI, with its state and Entra's number.
    let silent = authorize_url(
        &server,
        &web,
        &[("scope", "openid"), ("state", "s2"), ("prompt", "none")],
    );
    browser.goto(silent.as_str()).await.unwrap();
    let landed = wait_for_url(browser, &redirect).await;
    let params: Vec<(String, String)> = landed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(param(&params, "error"), Some("temporarily_unavailable"));
    assert_eq!(param(&params, "state"), Some("s2"));
    assert!(
        param(&params, "error_description").is_some_and(|d| d.contains("1003002")),
        "{params:?}"
    );
    assert!(param(&params, "code").is_none());
    assert_eq!(receiver.calls(), 2);

    // The extension recovers; the person tries again (their session stands): a code, whose
    // redemption carries the answer given at sign-in and makes no call of its own.
    receiver.failing.store(false, Ordering::SeqCst);
    browser.goto(authorize.as_str()).await.unwrap();
    let landed = wait_for_url(browser, &redirect).await;
    assert_eq!(receiver.calls(), 3);
    let (id, access) = web_app_tokens(&server, &web, &secret, landed.as_str()).await;
    assert_eq!(id["loyaltyTier"], "call-3", "{id}");
    assert_eq!(access["loyaltyTier"], "call-3", "{access}");
    assert_eq!(receiver.calls(), 3, "redeeming the code made no call");
    server.stop().await;
    driver.stop().await;
}

#[tokio::test]
async fn a_hybrid_flows_front_channel_and_redeemed_tokens_carry_one_answer() {
    let receiver = Counting::default();
    let (server, web, secret) = with_extension(&receiver).await;
    set_implicit(&server, &web, "id-token-and-token").await;
    let client = oidc_client(&server, &web, &secret).await;

    // code id_token: one call, whose claims the front-channel ID token carries.
    let (query, nonce) = request(
        &client,
        AuthenticationFlow::Hybrid(vec![CoreResponseType::Code, CoreResponseType::IdToken]),
    );
    let answer =
        authorize_and_sign_in(&server, &browser(), &pairs(&query), "alice@example.com").await;
    let front: CoreIdToken = param(&answer, "id_token").unwrap().parse().unwrap();
    front
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the crate accepts the front-channel ID token");
    let front = verified_claims(&server, param(&answer, "id_token").unwrap()).await;
    assert_eq!(front["loyaltyTier"], "call-1", "{front}");
    assert_eq!(receiver.calls(), 1);

    // The code, redeemed by the crate: the same answer, no second call.
    let code = param(&answer, "code").expect("a code").to_owned();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .request_async(&oidc_http(no_redirects()))
        .await
        .expect("the hybrid code redeems");
    let id = tokens.id_token().unwrap().to_string();
    assert_eq!(verified_claims(&server, &id).await["loyaltyTier"], "call-1");
    assert_eq!(receiver.calls(), 1, "one sign-in, one call");

    server.stop().await;
}

#[tokio::test]
async fn a_device_approval_asks_the_extension_and_the_device_gets_its_answer() {
    use crate::device_code::{URN, approve, device_code, poll};
    let server = TestServer::start_configured(
        crate::harness::Backend::Sqlite,
        portico_keys::SigningAlgorithm::Rs256,
        // Polls may follow each other at once (no slow_down to wait out).
        |s| s.device_code_interval_secs = 0,
    )
    .await
    .unwrap();
    server.user("alice@example.com").await;
    let (device, _) = crate::device_code::device_app(&server, AppKind::Native).await;
    let receiver = Counting::default();
    receiver.failing.store(true, Ordering::SeqCst);
    receiver.attach(&server, &device).await;
    let (_, issued) = device_code(&server, &device, "openid").await;
    let code = issued["device_code"].as_str().unwrap();

    // The person approves while the extension fails: they see why, the device waits on.
    let failed = approve(&server, &browser(), &issued, "alice@example.com").await;
    assert_eq!(failed.status(), 502);
    let page = failed.text().await.unwrap();
    assert!(page.contains("sign you in right now"), "{page}");
    let (status, body) = poll(&server, URN, &device, code).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "authorization_pending", "{body}");

    // Approved again once it answers: the device's tokens carry that answer, no new call.
    receiver.failing.store(false, Ordering::SeqCst);
    let done = approve(&server, &browser(), &issued, "alice@example.com").await;
    assert!(done.text().await.unwrap().contains("id=\"device-done\""));
    assert_eq!(receiver.calls(), 2);
    let (status, tokens) = poll(&server, URN, &device, code).await;
    assert_eq!(status, 200, "{tokens}");
    let id = verified_claims(&server, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["loyaltyTier"], "call-2", "{id}");
    assert_eq!(receiver.calls(), 2, "the device's poll made no call");
    server.stop().await;
}
