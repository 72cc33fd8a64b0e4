//! The device authorization grant (RFC 8628): a device asks for a code, a person approves it
//! in a browser elsewhere (typing the code, signing in on the engine, consenting), and the
//! device polls. MSAL for Python plays the device over HTTPS; the RFC's answers to polls
//! (pending, slow_down, denied, expired, replay) are checked over plain HTTP.

use portico_core::directory::AppKind;
use portico_keys::SigningAlgorithm;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Backend, PASSWORD, TestServer, hidden_inputs, submit_sign_in};
use crate::rp::verified_claims;

/// A server whose devices poll every second (MSAL waits `interval` between polls).
pub(crate) async fn server() -> TestServer {
    TestServer::start_configured(Backend::Sqlite, SigningAlgorithm::Rs256, |s| {
        s.device_code_interval_secs = 1;
    })
    .await
    .unwrap()
}

/// A new app of `kind` with the device code flow turned on, as an operator does.
pub(crate) async fn device_app(server: &TestServer, kind: AppKind) -> (String, Option<String>) {
    let (client_id, secret) = server.app(kind).await;
    server
        .portico()
        .update_application(
            &portico_core::directory::TenantRef::Id(server.tenant.id),
            client_id.parse().unwrap(),
            portico_core::directory::AppChanges {
                device_code: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    (client_id, secret)
}

/// Asks for a device code as `client_id` for `scope`.
pub(crate) async fn device_code(
    server: &TestServer,
    client_id: &str,
    scope: &str,
) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/devicecode"))
        .form(&[("client_id", client_id), ("scope", scope)])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// One poll of the token endpoint with `grant_type`.
pub(crate) async fn poll(
    server: &TestServer,
    grant_type: &str,
    client_id: &str,
    device_code: &str,
) -> (u16, Value) {
    crate::harness::token_request(
        server,
        &[
            ("grant_type", grant_type),
            ("client_id", client_id),
            ("device_code", device_code),
        ],
    )
    .await
}

pub(crate) const URN: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The device page in `browser`: opens `verification_uri`, types `user_code` and submits; the
/// page that answers.
async fn enter_code(
    browser: &reqwest::Client,
    verification_uri: &str,
    user_code: &str,
) -> reqwest::Response {
    let page = browser.get(verification_uri).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let mut form = hidden_inputs(&page.text().await.unwrap());
    form.push(("user_code".into(), user_code.into()));
    form.push(("action".into(), "lookup".into()));
    browser
        .post(verification_uri)
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Answers the device page's confirmation (`continue` or `deny`).
async fn confirm(
    browser: &reqwest::Client,
    verification_uri: &str,
    html: &str,
    action: &str,
) -> reqwest::Response {
    let mut form = hidden_inputs(html);
    form.push(("action".into(), action.into()));
    browser
        .post(verification_uri)
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Types the code, confirms, and signs `email` in: the page after the password.
pub(crate) async fn approve(
    server: &TestServer,
    browser: &reqwest::Client,
    issued: &Value,
    email: &str,
) -> reqwest::Response {
    let verification_uri = issued["verification_uri"].as_str().unwrap();
    let confirmation = enter_code(
        browser,
        verification_uri,
        issued["user_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(confirmation.status(), StatusCode::OK);
    let html = confirmation.text().await.unwrap();
    assert!(html.contains("id=\"device-continue\""), "{html}");
    let started = confirm(browser, verification_uri, &html, "continue").await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let flow_page = browser
        .get(started.headers()["location"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(flow_page.status(), StatusCode::OK);
    let html = flow_page.text().await.unwrap();
    submit_sign_in(server, browser, &html, email, PASSWORD).await
}

#[tokio::test]
async fn msal_python_signs_a_device_in_while_a_person_approves_in_a_browser() {
    if !crate::https::msal_available() {
        return;
    }
    let cert = crate::https::test_cert();
    let server = crate::https::https_server_configured(&cert, None, |s| {
        s.device_code_interval_secs = 1;
    })
    .await;
    let alice = server.user("alice@example.com").await;
    let (client_id, _) = device_app(&server, AppKind::Native).await;
    // The device: MSAL's own device flow, printing the flow (so the person can be shown the
    // code), then polling until the person is done.
    let script = r#"
import json, sys, msal
authority, client_id = sys.argv[1:3]
app = msal.PublicClientApplication(client_id, authority=authority,
    validate_authority=False, instance_discovery=False)
flow = app.initiate_device_flow(scopes=[])
print(json.dumps(flow), flush=True)
result = app.acquire_token_by_device_flow(flow)
print(json.dumps({k: result.get(k) for k in ("access_token", "refresh_token", "id_token_claims", "error", "error_description")}), flush=True)
"#;
    let mut device = tokio::process::Command::new("python3")
        .args([
            "-c",
            script,
            &format!("{}/contoso", server.base),
            &client_id,
        ])
        .env("REQUESTS_CA_BUNDLE", &cert.cert_path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = device.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let flow: Value =
        serde_json::from_str(&lines.next_line().await.unwrap().expect("the flow")).unwrap();
    assert!(flow["user_code"].is_string(), "{flow}");
    assert_eq!(flow["interval"], 1, "interval is always sent");
    assert!(
        flow["message"]
            .as_str()
            .unwrap()
            .contains(flow["user_code"].as_str().unwrap())
    );
    // The person, in a browser on another device.
    let browser = cert.browser();
    let done = approve(&server, &browser, &flow, "alice@example.com").await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("id=\"device-done\""));
    let result: Value = serde_json::from_str(
        &tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("MSAL finished polling")
            .unwrap()
            .expect("a result"),
    )
    .unwrap();
    let _ = device.wait().await;
    assert!(result["error"].is_null(), "{result}");
    assert_eq!(result["id_token_claims"]["oid"], alice.id.to_string());
    assert!(
        result["refresh_token"].is_string(),
        "offline_access by default"
    );
    // (Its signature is checked against the JWKS in the tests below, over plain HTTP.)
    let access =
        jsonwebtoken::dangerous::insecure_decode::<Value>(result["access_token"].as_str().unwrap())
            .unwrap()
            .claims;
    assert_eq!(access["azp"], client_id.as_str());
    assert_eq!(access["oid"], alice.id.to_string());
    server.stop().await;
}

#[tokio::test]
async fn polls_hear_pending_then_slow_down_and_a_declined_device_hears_access_denied() {
    // The RFC's default interval: two polls in a row are certainly too fast.
    let server = TestServer::start().await;
    // Discovery names the device flow only once an app of the tenant has it on.
    let discovery = || async {
        reqwest::get(server.url("v2.0/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert!(
        discovery()
            .await
            .get("device_authorization_endpoint")
            .is_none()
    );
    let (client_id, _) = device_app(&server, AppKind::Native).await;
    let metadata = discovery().await;
    assert_eq!(
        metadata["device_authorization_endpoint"],
        server.url("oauth2/v2.0/devicecode")
    );
    assert!(
        metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from(URN))
    );
    let (status, issued) = device_code(&server, &client_id, "openid offline_access").await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(issued["interval"], 5);
    assert_eq!(issued["expires_in"], 900);
    let user_code = issued["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9, "XXXX-XXXX");
    assert_eq!(
        issued["verification_uri_complete"],
        format!(
            "{}?user_code={user_code}",
            issued["verification_uri"].as_str().unwrap()
        )
    );
    let code = issued["device_code"].as_str().unwrap();
    let (status, body) = poll(&server, URN, &client_id, code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let (_, body) = poll(&server, URN, &client_id, code).await;
    assert_eq!(body["error"], "slow_down");

    // The link fills the code in but signs nothing in by itself; the person declines.
    let browser = crate::harness::browser();
    let page = browser
        .get(issued["verification_uri_complete"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("value=\"{user_code}\"")),
        "prefilled"
    );
    let verification_uri = issued["verification_uri"].as_str().unwrap();
    let confirmation = enter_code(&browser, verification_uri, &user_code.to_lowercase()).await;
    let html = confirmation.text().await.unwrap();
    assert!(
        html.contains("native app on another device"),
        "the page names the app: {html}"
    );
    let denied = confirm(&browser, verification_uri, &html, "deny").await;
    assert!(
        denied
            .text()
            .await
            .unwrap()
            .contains("id=\"device-denied\"")
    );
    // A decided code cannot be typed again.
    let again = enter_code(&browser, verification_uri, user_code).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let (status, body) = poll(&server, URN, &client_id, code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("access_denied"))
    );
    server.stop().await;
}

#[tokio::test]
async fn an_expired_device_code_hears_expired_token_and_its_user_code_is_dead() {
    let server = TestServer::start_configured(Backend::Sqlite, SigningAlgorithm::Rs256, |s| {
        s.device_code_lifetime_secs = 0;
    })
    .await
    .unwrap();
    let (client_id, _) = device_app(&server, AppKind::Native).await;
    let (_, issued) = device_code(&server, &client_id, "openid").await;
    let (_, body) = poll(
        &server,
        URN,
        &client_id,
        issued["device_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(body["error"], "expired_token", "{body}");
    let typed = enter_code(
        &crate::harness::browser(),
        issued["verification_uri"].as_str().unwrap(),
        issued["user_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(typed.status(), StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn a_device_code_redeems_once_with_consent_and_a_second_use_ends_what_it_gave() {
    let server = server().await;
    server.user("alice@example.com").await;
    let admin = crate::api_access::Admin::new(&server).await;
    let (api, _) = server.app(AppKind::Web).await;
    admin.expose_orders(&api).await;
    let (client_id, _) = device_app(&server, AppKind::Native).await;
    let (_, issued) = device_code(
        &server,
        &client_id,
        "openid offline_access api://orders/Orders.Read",
    )
    .await;
    let code = issued["device_code"].as_str().unwrap();
    let browser = crate::harness::browser();
    // Nobody granted the scope: the person consents after signing in.
    let consent = approve(&server, &browser, &issued, "alice@example.com").await;
    assert_eq!(consent.status(), StatusCode::OK);
    let html = consent.text().await.unwrap();
    assert!(html.contains("data-scope=\"Orders.Read\""), "{html}");
    let mut form = hidden_inputs(&html);
    form.push(("action".into(), "consent".into()));
    let done = browser
        .post(format!("{}/{}/signin", server.base, server.tenant.name))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(done.text().await.unwrap().contains("id=\"device-done\""));
    // MSAL Node's spelling of the grant.
    let (status, tokens) = poll(&server, "device_code", &client_id, code).await;
    assert_eq!(status, 200, "{tokens}");
    let access = verified_claims(&server, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(access["aud"], api.as_str());
    assert_eq!(access["scp"], "Orders.Read");
    // The device code again (copied off the device; at once, so also too fast): refused,
    // and the tokens it gave end.
    let (_, body) = poll(&server, URN, &client_id, code).await;
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let (_, refreshed) = crate::harness::token_request(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(refreshed["error"], "invalid_grant", "{refreshed}");
    server.stop().await;
}

#[tokio::test]
async fn another_clients_device_code_and_clients_without_users_get_nothing() {
    let server = server().await;
    server.user("alice@example.com").await;
    let (client_id, _) = device_app(&server, AppKind::Native).await;
    let (other, _) = device_app(&server, AppKind::Native).await;
    let (_, issued) = device_code(&server, &client_id, "openid").await;
    let browser = crate::harness::browser();
    let done = approve(&server, &browser, &issued, "alice@example.com").await;
    assert!(done.text().await.unwrap().contains("id=\"device-done\""));
    // The device got a session of its own: the browser that approved is not signed in by it
    // (nor would signing out there sign the device out).
    let (web, _) = server.app(AppKind::Web).await;
    let page = crate::harness::sign_in_page(&server, &browser, &web).await;
    assert_eq!(page.status(), StatusCode::OK, "a sign-in page, not a code");
    let code = issued["device_code"].as_str().unwrap();
    let (_, body) = poll(&server, URN, &other, code).await;
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let (_, body) = poll(&server, URN, &client_id, "not-a-device-code").await;
    assert_eq!(body["error"], "invalid_grant");
    // The right client still gets its tokens: the wrong one spent nothing (and, approved,
    // the device is not told to slow down).
    let (status, body) = poll(&server, URN, &client_id, code).await;
    assert_eq!(status, 200, "{body}");
    // The operator turns the flow off: a code issued before is dead at once.
    let (_, issued) = device_code(&server, &client_id, "openid").await;
    server
        .portico()
        .update_application(
            &portico_core::directory::TenantRef::Id(server.tenant.id),
            client_id.parse().unwrap(),
            portico_core::directory::AppChanges {
                device_code: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (_, body) = poll(
        &server,
        URN,
        &client_id,
        issued["device_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(body["error"], "unauthorized_client", "{body}");
    // Single-page apps and daemons have no device flow (a daemon even with its secret); an
    // app whose operator did not turn it on has none either; a web app must authenticate.
    let (spa, _) = server.app(AppKind::Spa).await;
    let (status, body) = device_code(&server, &spa, "openid").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
    let (daemon, secret) = server.app(AppKind::Daemon).await;
    let response = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/devicecode"))
        .basic_auth(&daemon, secret)
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    let (plain, _) = server.app(AppKind::Native).await;
    let (status, body) = device_code(&server, &plain, "openid").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
    let (web, _) = device_app(&server, AppKind::Web).await;
    let (status, body) = device_code(&server, &web, "openid").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    server.stop().await;
}

#[tokio::test]
async fn user_codes_cannot_be_guessed_quickly_from_one_network() {
    let server = server().await;
    let (client_id, _) = device_app(&server, AppKind::Native).await;
    let (_, issued) = device_code(&server, &client_id, "openid").await;
    let verification_uri = issued["verification_uri"].as_str().unwrap();
    let browser = crate::harness::browser();
    let mut refused_at = None;
    for attempt in 0..30 {
        let guess = enter_code(&browser, verification_uri, "BCDF-GHJK").await;
        if guess.status() == StatusCode::TOO_MANY_REQUESTS {
            refused_at = Some(attempt);
            break;
        }
        assert_eq!(guess.status(), StatusCode::BAD_REQUEST);
    }
    assert!(
        refused_at.is_some_and(|n| n <= 20),
        "guessing slowed after {refused_at:?} tries"
    );
    // Even the right code waits now.
    let right = enter_code(
        &browser,
        verification_uri,
        issued["user_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    server.stop().await;
}
