//! Microsoft's own native-auth SDK against Portico: `@azure/msal-browser` custom auth (its UMD
//! bundle from npm, `crates/portico/tests/sdk`) in headless Chromium, on a page of another
//! origin calling the API directly, so CORS carries it with no proxy. The SDK validates every
//! answer itself; the test only drives it and reads the outbox.
//!
//! Skips with a message when the npm package or Chromium is missing, unless
//! `PORTICO_REQUIRE_BROWSER` is set (CI installs both).

use std::path::PathBuf;

use fantoccini::Client;
use portico_core::directory::{
    AppKind, AttributeSpec, MfaMethod, MfaPolicy, NewApplication, TenantRef, UserFlowConfig,
};
use serde_json::{Value, json};

use crate::browser::Driver;
use crate::harness::{PASSWORD, TestServer};

use crate::https::{https_server, test_cert};
use crate::otp_delivery::{code_in, file_delivery, next_file};
use crate::page::{flow_for, mail_code};

/// A file of `@azure/msal-browser` as npm installs it (`lib/...`), or `None` (with a message)
/// when it is not installed and `PORTICO_REQUIRE_BROWSER` is not set.
pub(crate) fn msal_browser_file(relative: &str) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk/node_modules/@azure/msal-browser/lib")
        .join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) if std::env::var_os("PORTICO_REQUIRE_BROWSER").is_some() => {
            panic!(
                "{} is required (npm ci --prefix crates/portico/tests/sdk)",
                path.display()
            )
        }
        Err(_) => {
            eprintln!(
                "SKIPPED: @azure/msal-browser not installed; run npm ci --prefix crates/portico/tests/sdk"
            );
            None
        }
    }
}

/// The custom-auth bundle.
fn sdk_bundle() -> Option<String> {
    msal_browser_file("custom-auth-path/msal-custom-auth.js")
}

/// Serves the test page and the SDK from the app's own origin (`http://localhost:port`, a
/// secure context for the browser's crypto).
async fn page_server(bundle: String) -> String {
    let page = "<!doctype html><html><head><meta charset=\"utf-8\"><title>shop</title>\
                <script src=\"/msal-custom-auth.js\"></script></head><body>shop</body></html>";
    crate::harness::app_server(
        axum::Router::new()
            .route(
                "/",
                axum::routing::get(move || async move { axum::response::Html(page) }),
            )
            .route(
                "/msal-custom-auth.js",
                axum::routing::get(move || async move {
                    ([("content-type", "application/javascript")], bundle)
                }),
            ),
    )
    .await
}

/// Runs `body` (an async function body with `args` and the page's `app`) in the page and
/// returns what it returns. Failures come back as `{ "failed": ... }` with the SDK's words.
async fn run(client: &Client, body: &str, args: Vec<Value>) -> Value {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         const args = Array.from(arguments).slice(0, -1);
         const describe = (r) => r.error
             ? {{ failed: r.error.errorData?.error || String(r.error),
                  description: r.error.errorData?.errorDescription || r.error.message }}
             : {{ failed: 'unexpected state ' + (r.state && r.state.constructor.name) }};
         (async () => {{ {body} }})().then(done, (e) => done({{ failed: String(e), stack: e.stack }}));"
    );
    client.execute_async(&script, args).await.unwrap()
}

/// A Portico on HTTPS with a file outbox, an app whose page lives on another origin, and
/// Chromium on that page with the SDK's `app` made (asking for `capabilities`).
struct Sdk {
    driver: Driver,
    server: TestServer,
    outbox: tempfile::TempDir,
    _cert: crate::https::TestCert,
}

impl Sdk {
    async fn start(config: UserFlowConfig, capabilities: &[&str]) -> Option<Self> {
        let bundle = sdk_bundle()?;
        let driver = Driver::start().await?;
        let cert = test_cert();
        let outbox = tempfile::tempdir().unwrap();
        let server = https_server(&cert, Some(file_delivery(outbox.path()))).await;
        let origin = page_server(bundle).await;
        let client_id = server
            .portico()
            .create_application(
                &TenantRef::Id(server.tenant.id),
                NewApplication {
                    name: "shop".into(),
                    kind: AppKind::Spa,
                    redirect_uris: vec![format!("{origin}/")],
                    identifier_uri: None,
                    optional_claims: Vec::new(),
                    native_auth: true,
                    cors_origins: vec![origin.clone()],
                    client_keys: Vec::new(),
                    logout: Default::default(),
                },
            )
            .await
            .unwrap()
            .application
            .client_id
            .to_string();
        flow_for(&server, &client_id, config).await;
        driver.client.goto(&format!("{origin}/")).await.unwrap();
        let authority = format!("{}/{}", server.base, server.tenant.id);
        let created = run(
            &driver.client,
            "const [authority, clientId, capabilities] = args;
             window.app = await msalCustomAuth.CustomAuthPublicClientApplication.create({
                 auth: { clientId, authority, redirectUri: location.origin + '/' },
                 customAuth: { challengeTypes: ['password', 'oob', 'redirect'], capabilities },
                 cache: { cacheLocation: 'sessionStorage' },
             });
             return { created: true };",
            vec![json!(authority), json!(client_id), json!(capabilities)],
        )
        .await;
        assert_eq!(created, json!({ "created": true }));
        Some(Self {
            driver,
            server,
            outbox,
            _cert: cert,
        })
    }

    async fn run(&self, body: &str, args: Vec<Value>) -> Value {
        run(&self.driver.client, body, args).await
    }

    async fn stop(self) {
        self.driver.stop().await;
        self.server.stop().await;
    }
}

#[tokio::test]
async fn msal_browser_custom_auth_signs_up_signs_in_and_resets() {
    let config = UserFlowConfig {
        attributes: vec![AttributeSpec::parse_cli("displayName:required").unwrap()],
        ..UserFlowConfig::default()
    };
    let Some(sdk) = Sdk::start(config, &[]).await else {
        return;
    };
    let outbox = sdk.outbox.path();

    // Sign-up with a password and an attribute: the SDK asks for the code, then signs in.
    let started = sdk
        .run(
            "const r = await app.signUp({ username: args[0], password: args[1],
                                     attributes: { displayName: 'Ada Lovelace' } });
         if (!r.isCodeRequired()) return describe(r);
         window.pending = r.state;
         return { code_required: true };",
            vec![
                json!("ada@example.com"),
                json!("a long and fine passphrase"),
            ],
        )
        .await;
    assert_eq!(started, json!({ "code_required": true }));
    let code = mail_code(outbox).await;
    let signed_up = sdk
        .run(
            "const wrong = await pending.submitCode('00000000');
         const wrongCode = wrong.isFailed() && wrong.error.isInvalidCode();
         const r = await pending.submitCode(args[0]);
         if (!r.isCompleted()) return describe(r);
         const s = await r.state.signIn({ scopes: ['openid', 'profile', 'offline_access'] });
         if (!s.isCompleted()) return describe(s);
         const claims = s.data.getClaims();
         const refreshed = await s.data.getAccessToken({
             scopes: ['openid', 'profile', 'offline_access'], forceRefresh: true });
         const out = { wrongCode, username: s.data.getAccount().username, name: claims.name,
                       amr: claims.amr, refreshed: refreshed.isCompleted() };
         await s.data.signOut();
         return out;",
            vec![json!(code)],
        )
        .await;
    assert_eq!(
        signed_up,
        json!({ "wrongCode": true, "username": "ada@example.com", "name": "Ada Lovelace",
                "amr": ["otp", "pwd"], "refreshed": true })
    );

    // Sign-in: a wrong password and an unknown user are the SDK's own errors; then in.
    let signed_in = sdk
        .run(
            "const [username, password] = args;
         const unknown = await app.signIn({ username: 'nobody@example.com', password });
         const wrong = await app.signIn({ username, password: 'not the password' });
         // Apps often leave out offline_access; the SDK still needs a refresh token.
         const r = await app.signIn({ username, password, scopes: ['openid', 'profile'] });
         if (!r.isCompleted()) return describe(r);
         const out = { unknown: unknown.isFailed() && unknown.error.isUserNotFound(),
                       wrong: wrong.isFailed() && wrong.error.isPasswordIncorrect(),
                       amr: r.data.getClaims().amr };
         await r.data.signOut();
         return out;",
            vec![
                json!("ada@example.com"),
                json!("a long and fine passphrase"),
            ],
        )
        .await;
    assert_eq!(
        signed_in,
        json!({ "unknown": true, "wrong": true, "amr": ["pwd"] })
    );

    // Password reset: code, new password, polling, then signed in.
    let reset = sdk
        .run(
            "const r = await app.resetPassword({ username: args[0] });
         if (!r.isCodeRequired()) return describe(r);
         window.pending = r.state;
         return { code_required: true };",
            vec![json!("ada@example.com")],
        )
        .await;
    assert_eq!(reset, json!({ "code_required": true }));
    let code = mail_code(outbox).await;
    let reset = sdk
        .run(
            "const r = await pending.submitCode(args[0]);
         if (!r.isPasswordRequired()) return describe(r);
         const p = await r.state.submitNewPassword(args[1]);
         if (!p.isCompleted()) return describe(p);
         const s = await p.state.signIn({ scopes: ['openid', 'profile'] });
         if (!s.isCompleted()) return describe(s);
         const refreshed = await s.data.getAccessToken({
             scopes: ['openid', 'profile'], forceRefresh: true });
         if (!refreshed.isCompleted()) return describe(refreshed);
         const out = { username: s.data.getAccount().username };
         await s.data.signOut();
         return out;",
            vec![json!(code), json!("another fine passphrase")],
        )
        .await;
    assert_eq!(reset, json!({ "username": "ada@example.com" }));
    sdk.stop().await;
}

#[tokio::test]
async fn msal_browser_custom_auth_registers_and_uses_a_second_factor() {
    let config = UserFlowConfig {
        mfa: MfaPolicy::Required,
        mfa_methods: vec![MfaMethod::EmailOtp, MfaMethod::Sms],
        ..UserFlowConfig::default()
    };
    let Some(sdk) = Sdk::start(config, &["mfa_required", "registration_required"]).await else {
        return;
    };
    sdk.server.user("jit@example.com").await;
    let sms_dir = sdk.outbox.path().join("sms");
    let sms_code = || async {
        let sms: Value = serde_json::from_str(&next_file(&sms_dir, "json").await).unwrap();
        assert_eq!(sms["to"], "+15550104477");
        code_in(sms["body"].as_str().unwrap())
    };

    // No second factor yet: the SDK registers a phone just in time.
    let needed = sdk
        .run(
            "const r = await app.signIn({ username: args[0], password: args[1],
                                          scopes: ['openid', 'profile', 'offline_access'] });
             if (!r.isAuthMethodRegistrationRequired()) return describe(r);
             const methods = r.state.getAuthMethods();
             const sms = methods.find((m) => m.challenge_channel === 'sms');
             const c = await r.state.challengeAuthMethod({
                 authMethodType: sms, verificationContact: '+1 555 010 4477' });
             if (!c.isVerificationRequired()) return describe(c);
             window.pending = c.state;
             return { channels: methods.map((m) => m.id) };",
            vec![json!("jit@example.com"), json!(PASSWORD)],
        )
        .await;
    assert_eq!(needed, json!({ "channels": ["email", "sms"] }));
    let code = sms_code().await;
    let registered = sdk
        .run(
            "const r = await pending.submitChallenge(args[0]);
             if (!r.isCompleted()) return describe(r);
             const out = { amr: r.data.getClaims().amr };
             await r.data.signOut();
             return out;",
            vec![json!(code)],
        )
        .await;
    assert_eq!(registered, json!({ "amr": ["pwd", "mfa"] }));

    // Next time the phone is the second factor.
    let challenged = sdk
        .run(
            "const r = await app.signIn({ username: args[0], password: args[1],
                                          scopes: ['openid', 'profile', 'offline_access'] });
             if (!r.isMfaRequired()) return describe(r);
             const methods = r.state.getAuthMethods();
             const c = await r.state.requestChallenge(methods[0].id);
             if (!c.isVerificationRequired()) return describe(c);
             window.pending = c.state;
             return { methods: methods.map((m) => m.login_hint) };",
            vec![json!("jit@example.com"), json!(PASSWORD)],
        )
        .await;
    assert_eq!(challenged, json!({ "methods": ["+*******4477"] }));
    let code = sms_code().await;
    let signed_in = sdk
        .run(
            "const r = await pending.submitChallenge(args[0]);
             if (!r.isCompleted()) return describe(r);
             return { amr: r.data.getClaims().amr };",
            vec![json!(code)],
        )
        .await;
    assert_eq!(signed_in, json!({ "amr": ["pwd", "mfa"] }));
    sdk.stop().await;
}
