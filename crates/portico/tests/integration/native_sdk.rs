//! Microsoft's own native-auth SDK against Portico: `@azure/msal-browser` custom auth (its UMD
//! bundle from npm, `crates/portico/tests/sdk`) in headless Chromium, on a page of another
//! origin calling the API directly, so CORS carries it with no proxy. The SDK validates every
//! answer itself; the test only drives it and reads the outbox.
//!
//! Skips with a message when the npm package or Chromium is missing, unless
//! `PORTICO_REQUIRE_BROWSER` is set (CI installs both).

use std::path::PathBuf;

use fantoccini::Client;
use portico_core::directory::{AppKind, AttributeSpec, NewApplication, TenantRef, UserFlowConfig};
use serde_json::{Value, json};

use crate::browser::Driver;

use crate::https::{https_server, test_cert};
use crate::journeys::{flow_for, mail_code};
use crate::otp_delivery::file_delivery;

/// The SDK's browser bundle, as npm installs it.
fn sdk_bundle() -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "tests/sdk/node_modules/@azure/msal-browser/lib/custom-auth-path/msal-custom-auth.js",
    );
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

/// Serves the test page and the SDK from a second origin (`http://127.0.0.1:port`, a secure
/// context for the browser's crypto).
async fn page_server(bundle: String) -> String {
    let page = "<!doctype html><html><head><meta charset=\"utf-8\"><title>shop</title>\
                <script src=\"/msal-custom-auth.js\"></script></head><body>shop</body></html>";
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || async move { axum::response::Html(page) }),
        )
        .route(
            "/msal-custom-auth.js",
            axum::routing::get(move || async move {
                ([("content-type", "application/javascript")], bundle)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    origin
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

#[tokio::test]
async fn msal_browser_custom_auth_signs_up_signs_in_and_resets() {
    let Some(bundle) = sdk_bundle() else { return };
    let Some(driver) = Driver::start().await else {
        return;
    };
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
            },
        )
        .await
        .unwrap()
        .application
        .client_id
        .to_string();
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            attributes: vec![AttributeSpec::parse_cli("displayName:required").unwrap()],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let browser = &driver.client;
    browser.goto(&format!("{origin}/")).await.unwrap();
    let authority = format!("{}/{}", server.base, server.tenant.id);
    let created = run(
        browser,
        "const [authority, clientId] = args;
         window.app = await msalCustomAuth.CustomAuthPublicClientApplication.create({
             auth: { clientId, authority, redirectUri: location.origin + '/' },
             customAuth: { challengeTypes: ['password', 'oob', 'redirect'] },
             cache: { cacheLocation: 'sessionStorage' },
         });
         return { created: true };",
        vec![json!(authority), json!(client_id)],
    )
    .await;
    assert_eq!(created, json!({ "created": true }));

    // Sign-up with a password and an attribute: the SDK asks for the code, then signs in.
    let started = run(
        browser,
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
    let code = mail_code(outbox.path()).await;
    let signed_up = run(
        browser,
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
    let signed_in = run(
        browser,
        "const [username, password] = args;
         const unknown = await app.signIn({ username: 'nobody@example.com', password });
         const wrong = await app.signIn({ username, password: 'not the password' });
         const r = await app.signIn({ username, password,
                                      scopes: ['openid', 'profile', 'offline_access'] });
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
    let reset = run(
        browser,
        "const r = await app.resetPassword({ username: args[0] });
         if (!r.isCodeRequired()) return describe(r);
         window.pending = r.state;
         return { code_required: true };",
        vec![json!("ada@example.com")],
    )
    .await;
    assert_eq!(reset, json!({ "code_required": true }));
    let code = mail_code(outbox.path()).await;
    let reset = run(
        browser,
        "const r = await pending.submitCode(args[0]);
         if (!r.isPasswordRequired()) return describe(r);
         const p = await r.state.submitNewPassword(args[1]);
         if (!p.isCompleted()) return describe(p);
         const s = await p.state.signIn({ scopes: ['openid', 'profile', 'offline_access'] });
         if (!s.isCompleted()) return describe(s);
         const out = { username: s.data.getAccount().username };
         await s.data.signOut();
         return out;",
        vec![json!(code), json!("another fine passphrase")],
    )
    .await;
    assert_eq!(reset, json!({ "username": "ada@example.com" }));
    driver.stop().await;
    server.stop().await;
}
