//! The native-authentication API, spoken exactly as Microsoft's SDKs speak it: form fields and
//! headers as `@azure/msal-browser` custom auth sends them (spec §1), answers checked member by
//! member. Its second-factor steps are in `native_mfa.rs`; its errors, CORS and limits in
//! `native_errors.rs` (both use the calls here).

use portico_core::directory::{AppKind, NewApplication, SignInMethod, TenantRef, UserFlowConfig};
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

pub(crate) async fn app(server: &TestServer, native_auth: bool) -> String {
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
                client_keys: Vec::new(),
                logout: Default::default(),
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

pub(crate) async fn initiate(
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

pub(crate) async fn challenge(
    server: &TestServer,
    client_id: &str,
    token: &str,
    types: &str,
) -> (u16, Value) {
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
