//! A single-page app as Microsoft's `@azure/msal-browser` builds one: `PublicClientApplication`
//! with the standard redirect flow (its UMD bundle from npm, `crates/portico/tests/sdk`), in
//! headless Chromium, on a page of the app's own origin. The SDK reads discovery, sends the
//! browser to the hosted page, takes the code from the redirect, redeems it cross-origin and
//! refreshes cross-origin; it decides whether each answer is acceptable.
//!
//! Skips with a message when the npm package or Chromium is missing, unless
//! `PORTICO_REQUIRE_BROWSER` is set (CI installs both).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fantoccini::Locator;
use portico_core::directory::{AppKind, NewApplication, TenantRef};
use serde_json::{Value, json};

use crate::browser::{Driver, fill_and_press, wait_for_url};
use crate::harness::{PASSWORD, TestServer, app_server};
use crate::https::{https_server, test_cert};

/// The SDK's standard browser bundle.
fn msal_bundle() -> Option<String> {
    crate::native_sdk::msal_browser_file("msal-browser.js")
}

/// The app: one page that loads the SDK, makes its `PublicClientApplication` from `config`
/// (set once the app is registered) and handles a redirect response on every load, as an SPA
/// does.
async fn spa_server(bundle: String, config: Arc<OnceLock<String>>) -> String {
    let page = move || {
        let config = config.get().cloned().unwrap_or_else(|| "null".to_owned());
        axum::response::Html(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>spa</title>\
             <script src=\"/msal-browser.js\"></script><script>\
             window.pca = new msal.PublicClientApplication({config});\
             window.redirected = window.pca.initialize()\
               .then(() => window.pca.handleRedirectPromise())\
               .then((r) => r ? {{ username: r.account.username, idToken: !!r.idToken,\
                                  accessToken: r.accessToken }} : null,\
                     (e) => ({{ failed: e.errorCode || String(e), description: e.errorMessage || e.message }}));\
             </script></head><body>spa</body></html>"
        ))
    };
    app_server(
        axum::Router::new()
            .route("/", axum::routing::get(move || async move { page() }))
            .route(
                "/msal-browser.js",
                axum::routing::get(move || async move {
                    ([("content-type", "application/javascript")], bundle)
                }),
            ),
    )
    .await
}

/// Runs `body` (an async function body) in the page and returns what it returns; an SDK error
/// comes back as `{ "failed": code, "description": text }`.
async fn run(client: &fantoccini::Client, body: &str) -> Value {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         (async () => {{ {body} }})().then(done,
             (e) => done({{ failed: e.errorCode || String(e), description: e.errorMessage || e.message }}));"
    );
    client.execute_async(&script, Vec::new()).await.unwrap()
}

#[tokio::test]
async fn msal_browser_spa_signs_in_by_redirect_and_refreshes_cross_origin() {
    let Some(bundle) = msal_bundle() else {
        return;
    };
    let Some(driver) = Driver::start().await else {
        return;
    };
    let cert = test_cert();
    let server: TestServer = https_server(&cert, None).await;
    server.user("spa.user@example.com").await;
    let config = Arc::new(OnceLock::new());
    let origin = spa_server(bundle, Arc::clone(&config)).await;
    let client_id = server
        .portico()
        .create_application(
            &TenantRef::Id(server.tenant.id),
            NewApplication {
                name: "spa".into(),
                kind: AppKind::Spa,
                redirect_uris: vec![format!("{origin}/")],
                identifier_uri: None,
                optional_claims: Vec::new(),
                native_auth: false,
                cors_origins: Vec::new(),
                client_keys: Vec::new(),
                logout: Default::default(),
            },
        )
        .await
        .unwrap()
        .application
        .client_id
        .to_string();
    let host = server.base.trim_start_matches("https://").to_owned();
    let _ = config.set(
        json!({
            "auth": {
                "clientId": client_id,
                "authority": format!("{}/{}", server.base, server.tenant.id),
                "knownAuthorities": [host],
                "redirectUri": format!("{origin}/"),
            },
            "cache": { "cacheLocation": "sessionStorage" },
        })
        .to_string(),
    );
    let browser = &driver.client;
    browser.goto(&format!("{origin}/")).await.unwrap();
    assert_eq!(
        run(browser, "return await window.redirected;").await,
        Value::Null
    );

    // loginRedirect leaves the page: start it and let the browser go.
    browser
        .execute(
            "window.pca.loginRedirect({ scopes: ['openid', 'profile', 'offline_access'] }); return true;",
            Vec::new(),
        )
        .await
        .unwrap();
    fill_and_press(
        browser,
        "input#password",
        &[
            ("input#email", "spa.user@example.com"),
            ("input#password", PASSWORD),
        ],
        "button[type=submit]",
    )
    .await;

    // Back on the app's origin: the SDK takes the code and redeems it from the page.
    wait_for_url(browser, &origin).await;
    browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("body"))
        .await
        .unwrap();
    let signed_in = run(browser, "return await window.redirected;").await;
    assert_eq!(signed_in["username"], "spa.user@example.com", "{signed_in}");
    assert_eq!(signed_in["idToken"], true, "{signed_in}");
    let first = signed_in["accessToken"].as_str().unwrap().to_owned();

    // A forced refresh goes through /token with the refresh token, cross-origin again.
    let refreshed = run(
        browser,
        "const account = window.pca.getAllAccounts()[0];
         const r = await window.pca.acquireTokenSilent({
             scopes: ['openid', 'profile', 'offline_access'], account, forceRefresh: true });
         return { fromCache: r.fromCache, accessToken: r.accessToken };",
    )
    .await;
    assert_eq!(refreshed["fromCache"], false, "{refreshed}");
    assert_ne!(refreshed["accessToken"].as_str(), Some(first.as_str()));

    driver.stop().await;
    server.stop().await;
}
