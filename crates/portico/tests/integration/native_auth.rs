//! The native-authentication API, spoken exactly as Microsoft's SDKs speak it: form fields and
//! headers as `@azure/msal-browser` custom auth sends them (spec §1), answers checked member by
//! member, every documented error, CORS, and state shared with the hosted pages.

use std::path::Path;

use portico_core::Portico;
use portico_core::clock::ManualClock;
use portico_core::directory::{
    AppKind, MfaMethod, MfaPolicy, NewApplication, SignInMethod, TenantRef, UserFlowConfig,
};
use portico_core::signin::engine::Journey;
use portico_core::signin::{FlowOrigin, NativeClient};
use portico_keys::MasterKey;
use serde_json::Value;

use crate::harness::{PASSWORD, TestServer, verified_claims};
use crate::otp_delivery::server_with_outbox;
use crate::page::{flow_for, mail_code};

pub(crate) const ORIGIN: &str = "https://shop.example";
pub(crate) const REQUEST_ID: &str = "4d1c5f0e-8b7a-4c2d-9e3f-0a1b2c3d4e5f";

/// A public app with the native API on, callable from `ORIGIN`.
pub(crate) async fn native_app(server: &TestServer) -> String {
    app(server, true).await
}

async fn app(server: &TestServer, native_auth: bool) -> String {
    server
        .portico()
        .create_application(
            &TenantRef::Id(server.tenant.id),
            NewApplication {
                name: "shop".into(),
                kind: AppKind::Spa,
                redirect_uris: vec![server.redirect_uri()],
                identifier_uri: None,
                optional_claims: Vec::new(),
                native_auth,
                cors_origins: if native_auth {
                    vec![ORIGIN.into()]
                } else {
                    Vec::new()
                },
            },
        )
        .await
        .unwrap()
        .application
        .client_id
        .to_string()
}

/// One call as MSAL makes it: POST, form body, its telemetry headers.
pub(crate) async fn call(server: &TestServer, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = msal_post(server, path, form, None).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A call of one app: `client_id` first, then `fields`.
pub(crate) async fn post(
    server: &TestServer,
    client_id: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![("client_id", client_id)];
    form.extend_from_slice(fields);
    call(server, path, &form).await
}

pub(crate) async fn msal_post(
    server: &TestServer,
    path: &str,
    form: &[(&str, &str)],
    origin: Option<&str>,
) -> reqwest::Response {
    // MSAL may append query parameters of its own (`dc`, `slice`); they must be ignored.
    let mut request = reqwest::Client::new()
        .post(format!(
            "{}?dc=ESTS-PUB-WEULR1-AZ1-FD000-TEST1&slice=testslice",
            server.url(path)
        ))
        .header("x-client-SKU", "msal.browser")
        .header("x-client-VER", "4.27.0")
        .header("x-client-OS", "linux")
        .header("x-client-CPU", "x86")
        .header("client-request-id", REQUEST_ID)
        .form(form);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap()
}

pub(crate) fn keys(body: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

pub(crate) fn ct(body: &Value) -> &str {
    body["continuation_token"]
        .as_str()
        .expect("a continuation token")
}

/// Checks a native error: status 400, the codes, and the shape every SDK reads.
pub(crate) fn assert_error(status: u16, body: &Value, error: &str, code: u64) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], serde_json::json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    assert!(
        description.contains(&format!("\r\nCorrelation ID: {REQUEST_ID}\r\n")),
        "{description}"
    );
    assert_eq!(body["correlation_id"], REQUEST_ID);
    let timestamp = body["timestamp"].as_str().unwrap();
    assert!(
        timestamp.len() == 20 && timestamp.ends_with('Z') && &timestamp[10..11] == " ",
        "{timestamp}"
    );
    assert_eq!(body["trace_id"].as_str().unwrap().len(), 36);
}

async fn initiate(
    server: &TestServer,
    client_id: &str,
    username: &str,
    types: &str,
) -> (u16, Value) {
    call(
        server,
        "oauth2/v2.0/initiate",
        &[
            ("client_id", client_id),
            ("username", username),
            ("challenge_type", types),
            ("capabilities", "mfa_required registration_required"),
        ],
    )
    .await
}

async fn challenge(server: &TestServer, client_id: &str, token: &str, types: &str) -> (u16, Value) {
    call(
        server,
        "oauth2/v2.0/challenge",
        &[
            ("client_id", client_id),
            ("challenge_type", types),
            ("continuation_token", token),
        ],
    )
    .await
}

pub(crate) async fn token(
    server: &TestServer,
    client_id: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("client_id", client_id),
        ("scope", "openid profile offline_access"),
        ("client_info", "true"),
    ];
    form.extend_from_slice(fields);
    call(server, "oauth2/v2.0/token", &form).await
}

/// Redeems the last token of a sign-up, reset or registration, as MSAL does (sign-up also
/// sends the username).
pub(crate) async fn redeem(
    server: &TestServer,
    client_id: &str,
    body: &Value,
    username: Option<&str>,
) -> (u16, Value) {
    let mut fields = vec![
        ("grant_type", "continuation_token"),
        ("continuation_token", ct(body)),
    ];
    if let Some(username) = username {
        fields.push(("username", username));
    }
    token(server, client_id, &fields).await
}

/// A password sign-in as MSAL makes it when it has both: initiate, then the password grant.
pub(crate) async fn password_sign_in(
    server: &TestServer,
    client_id: &str,
    username: &str,
    password: &str,
    capabilities: &str,
) -> (u16, Value) {
    let (status, initiated) = call(
        server,
        "oauth2/v2.0/initiate",
        &[
            ("client_id", client_id),
            ("username", username),
            ("challenge_type", "oob password redirect"),
            ("capabilities", capabilities),
        ],
    )
    .await;
    assert_eq!(status, 200, "{initiated}");
    token(
        server,
        client_id,
        &[
            ("grant_type", "password"),
            ("continuation_token", ct(&initiated)),
            ("password", password),
        ],
    )
    .await
}

/// The token answer MSAL's custom auth insists on (spec §1.4).
pub(crate) async fn assert_tokens(server: &TestServer, body: &Value) -> Value {
    assert_eq!(
        keys(body),
        vec![
            "access_token",
            "client_info",
            "expires_in",
            "ext_expires_in",
            "id_token",
            "refresh_token",
            "scope",
            "token_type"
        ],
        "{body}"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    assert_eq!(body["scope"], "openid profile offline_access");
    verified_claims(server, body["id_token"].as_str().unwrap()).await
}

#[tokio::test]
async fn password_sign_in_as_msal_does_it() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com").await;
    let client_id = native_app(&server).await;
    let types = "oob password redirect";

    let (status, started) = initiate(&server, &client_id, "Ada@Example.com", types).await;
    assert_eq!((status, keys(&started)), (200, vec!["continuation_token"]));
    let (status, asked) = challenge(&server, &client_id, ct(&started), types).await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(keys(&asked), vec!["challenge_type", "continuation_token"]);
    assert_eq!(asked["challenge_type"], "password");

    // A wrong password is refused and the same token may try again (as the SDKs do).
    let (status, wrong) = token(
        &server,
        &client_id,
        &[
            ("grant_type", "password"),
            ("continuation_token", ct(&asked)),
            ("password", "not the password"),
        ],
    )
    .await;
    assert_error(status, &wrong, "invalid_grant", 50126);
    let response = msal_post(
        &server,
        "oauth2/v2.0/token",
        &[
            ("client_id", &client_id),
            ("scope", "openid profile offline_access"),
            ("client_info", "true"),
            ("grant_type", "password"),
            ("continuation_token", ct(&asked)),
            ("password", PASSWORD),
        ],
        None,
    )
    .await;
    assert_eq!(response.headers()["client-request-id"], REQUEST_ID);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: Value = response.json().await.unwrap();
    let claims = assert_tokens(&server, &tokens).await;
    assert_eq!(claims["oid"], user.id.to_string());
    assert_eq!(claims["aud"], client_id);
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["email"], serde_json::Value::Null, "no email scope");
    assert!(claims["sid"].is_string(), "a session anchors the sign-in");

    // The flow gave its tokens once: the token is dead now.
    let (status, replay) = token(
        &server,
        &client_id,
        &[
            ("grant_type", "password"),
            ("continuation_token", ct(&asked)),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_error(status, &replay, "invalid_grant", 55200);
    // The refresh token works at the ordinary token endpoint.
    let (status, refreshed) = crate::harness::token_request(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    server.stop().await;
}

#[tokio::test]
async fn email_code_sign_in_with_a_wrong_code_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server.user("grace@example.com").await;
    let client_id = native_app(&server).await;
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            methods: vec![SignInMethod::EmailOtp],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let (status, started) =
        initiate(&server, &client_id, "grace@example.com", "oob redirect").await;
    assert_eq!(status, 200, "{started}");
    let (status, asked) = challenge(&server, &client_id, ct(&started), "oob redirect").await;
    assert_eq!(status, 200, "{asked}");
    assert_oob(&asked, "email", "g***e@e*****e.com");
    let code = mail_code(dir.path()).await;

    let (status, wrong) = token(
        &server,
        &client_id,
        &[
            ("grant_type", "oob"),
            ("continuation_token", ct(&asked)),
            ("oob", "00000000"),
        ],
    )
    .await;
    assert_error(status, &wrong, "invalid_grant", 50181);
    assert_eq!(wrong["suberror"], "invalid_oob_value");
    // Apps often leave out offline_access; Microsoft's SDKs still need a refresh token
    // (refresh_token_missing otherwise), and Entra always sends one.
    let (status, tokens) = call(
        &server,
        "oauth2/v2.0/token",
        &[
            ("client_id", &client_id),
            ("scope", "openid profile"),
            ("client_info", "true"),
            ("grant_type", "oob"),
            ("continuation_token", ct(&asked)),
            ("oob", &code),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let claims = assert_tokens(&server, &tokens).await;
    assert_eq!(claims["amr"], serde_json::json!(["otp"]));
    server.stop().await;
}

pub(crate) fn assert_oob(body: &Value, channel: &str, label: &str) {
    assert_eq!(
        keys(body),
        vec![
            "binding_method",
            "challenge_channel",
            "challenge_target_label",
            "challenge_type",
            "code_length",
            "continuation_token"
        ],
        "{body}"
    );
    assert_eq!(body["challenge_type"], "oob");
    assert_eq!(body["binding_method"], "prompt");
    assert_eq!(body["challenge_channel"], channel);
    assert_eq!(body["challenge_target_label"], label);
    assert_eq!(body["code_length"], 8);
}

async fn mfa_server(dir: &Path) -> (TestServer, String) {
    let server = server_with_outbox(dir, |_| {}).await;
    let user = server.user("mfa@example.com").await;
    let client_id = native_app(&server).await;
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            mfa: MfaPolicy::Required,
            mfa_methods: vec![MfaMethod::EmailOtp, MfaMethod::Sms],
            ..UserFlowConfig::default()
        },
    )
    .await;
    for (kind, target) in [
        (MfaMethod::EmailOtp, "backup@example.com"),
        (MfaMethod::Sms, "+15551234567"),
    ] {
        crate::mfa_bypass::add_factor(&server, user.id, kind, Some(target)).await;
    }
    (server, client_id)
}

async fn password_step(server: &TestServer, client_id: &str, capabilities: &str) -> (u16, Value) {
    let (_, started) = call(
        server,
        "oauth2/v2.0/initiate",
        &[
            ("client_id", client_id),
            ("username", "mfa@example.com"),
            ("challenge_type", "oob password redirect"),
            ("capability", capabilities),
        ],
    )
    .await;
    let (_, asked) = challenge(server, client_id, ct(&started), "oob password redirect").await;
    token(
        server,
        client_id,
        &[
            ("grant_type", "password"),
            ("continuation_token", ct(&asked)),
            ("password", PASSWORD),
        ],
    )
    .await
}

#[tokio::test]
async fn second_factor_by_email_chosen_through_introspect() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client_id) = mfa_server(dir.path()).await;
    // The docs spell the field `capability` and separate with commas.
    let (status, needed) =
        password_step(&server, &client_id, "registration_required,mfa_required").await;
    assert_error(status, &needed, "invalid_grant", 50076);
    assert_eq!(needed["suberror"], "mfa_required");
    let (status, listed) = call(
        &server,
        "oauth2/v2.0/introspect",
        &[
            ("client_id", &client_id),
            ("continuation_token", ct(&needed)),
        ],
    )
    .await;
    assert_eq!(
        (status, keys(&listed)),
        (200, vec!["continuation_token", "methods"]),
        "{listed}"
    );
    let methods = listed["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 2);
    let email = methods
        .iter()
        .find(|m| m["challenge_channel"] == "email")
        .unwrap();
    assert_eq!(email["challenge_type"], "oob");
    assert_eq!(email["login_hint"], "b****p@e*****e.com");
    let sms = methods
        .iter()
        .find(|m| m["challenge_channel"] == "sms")
        .unwrap();
    assert_eq!(sms["login_hint"], "+*******4567");

    let (status, asked) = call(
        &server,
        "oauth2/v2.0/challenge",
        &[
            ("client_id", &client_id),
            ("continuation_token", ct(&listed)),
            ("id", email["id"].as_str().unwrap()),
            ("challenge_type", "oob redirect"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{asked}");
    assert_oob(&asked, "email", "b****p@e*****e.com");
    let code = mail_code(dir.path()).await;
    let (status, tokens) = token(
        &server,
        &client_id,
        &[
            ("grant_type", "mfa_oob"),
            ("continuation_token", ct(&asked)),
            ("oob", &code),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let claims = assert_tokens(&server, &tokens).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "mfa"]));
    server.stop().await;
}

#[tokio::test]
async fn the_web_fallback_when_the_client_cannot_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client_id) = mfa_server(dir.path()).await;
    // No mfa_required capability: the second factor happens in the browser.
    let (status, fallback) = password_step(&server, &client_id, "registration_required").await;
    assert_eq!(status, 200, "{fallback}");
    assert_eq!(fallback["challenge_type"], "redirect");
    assert_eq!(
        fallback["redirect_reason"],
        "Client is missing mfa_required capability"
    );
    // A password-only user flow and a client that can only take codes.
    let other = native_app(&server).await;
    flow_for(
        &server,
        &other,
        UserFlowConfig {
            methods: vec![SignInMethod::Password],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let (status, fallback) = initiate(&server, &other, "mfa@example.com", "oob redirect").await;
    assert_eq!(status, 200);
    assert_eq!(keys(&fallback), vec!["challenge_type", "redirect_reason"]);
    server.stop().await;
}

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
    let past = Portico::new(
        server.portico().settings.clone(),
        std::sync::Arc::clone(&server.portico().store),
        std::sync::Arc::new(clock),
        MasterKey::from_base64(&server.master_key).unwrap(),
    );
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
    // That code is spent now; a new one waits for the resend interval.
    assert!(resent.html.contains("Too many codes"), "{}", resent.html);
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
