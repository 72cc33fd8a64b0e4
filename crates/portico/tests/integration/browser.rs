//! The hosted page in a real browser: headless Chromium driven over WebDriver (chromedriver).
//! Skips with a message when Chromium is not installed, unless `PORTICO_REQUIRE_BROWSER` is set
//! (CI sets it after installing Debian's chromium and chromium-driver).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use portico_core::directory::{
    AppKind, AttributeSpec, MfaMethod, MfaPolicy, SignInMethod, UserFlowConfig,
};

use crate::harness::{PASSWORD, TestServer, param};
use crate::journeys::totp_now;
use crate::otp_delivery::{code_in, next_file, server_with_outbox};
use crate::page::{flow_for, mail_code};

pub(crate) struct Driver {
    process: Child,
    pub(crate) client: Client,
    _profile: tempfile::TempDir,
}

impl Driver {
    pub(crate) async fn start() -> Option<Self> {
        let missing = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
            .into_iter()
            .find(|path| !std::path::Path::new(path).exists());
        if let Some(path) = missing {
            if std::env::var_os("PORTICO_REQUIRE_BROWSER").is_some() {
                panic!("{path} is required (apt-get install chromium chromium-driver)");
            }
            eprintln!(
                "SKIPPED: {path} not installed; browser tests need Debian's chromium and chromium-driver"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Short path: Chromium refuses DevTools sockets with long paths.
        let profile = tempfile::Builder::new()
            .prefix("pc")
            .tempdir_in("/tmp")
            .unwrap();
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage",
                    // The SDK test's Portico serves HTTPS with a self-signed certificate.
                    "--ignore-certificate-errors",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            match ClientBuilder::rustls()
                .unwrap()
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Self {
                        process,
                        client,
                        _profile: profile,
                    });
                }
                Err(err) => last_error = err.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start: {last_error}");
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

pub(crate) async fn wait_for_url(client: &Client, prefix: &str) -> url::Url {
    for _ in 0..100 {
        let url = client.current_url().await.unwrap();
        if url.as_str().starts_with(prefix) {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "browser never reached {prefix}: at {}",
        client.current_url().await.unwrap()
    );
}

/// The authorization request for `client_id` (code flow to the harness's redirect URI).
pub(crate) fn authorize_url(
    server: &TestServer,
    client_id: &str,
    query: &[(&str, &str)],
) -> url::Url {
    let mut url = url::Url::parse(&server.url("oauth2/v2.0/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", &server.redirect_uri())
        .extend_pairs(query);
    url
}

/// Waits for the page that shows `ready` (the click before it navigates), types into the
/// named inputs, and presses the button.
pub(crate) async fn fill_and_press(
    client: &Client,
    ready: &str,
    inputs: &[(&str, &str)],
    button: &str,
) {
    if let Err(e) = client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(ready))
        .await
    {
        let page = client.source().await.unwrap_or_default();
        panic!("{ready} never appeared: {e}\n{page}");
    }
    for (css, text) in inputs {
        client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    client
        .find(Locator::Css(button))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits for the page that shows `ready`, types `code` and presses "verify".
pub(crate) async fn enter_code(client: &Client, ready: &str, code: &str) {
    fill_and_press(
        client,
        ready,
        &[("input#code", code)],
        "button[value=verify]",
    )
    .await;
}

/// Waits for a page whose source holds `needle` (one that replaced the page a click was on,
/// whose elements go stale) and returns the source.
pub(crate) async fn wait_for_text(client: &Client, needle: &str) -> String {
    let mut page = String::new();
    for _ in 0..300 {
        page = client.source().await.unwrap_or_default();
        if page.contains(needle) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no page showed {needle:?}:\n{page}");
}

pub(crate) async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// From the sign-in page to sign-up by its link: the address, the code mailed to it, a
/// password.
pub(crate) async fn sign_up(
    browser: &Client,
    outbox: &std::path::Path,
    email: &str,
    password: &str,
) {
    browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("a#create-account"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill_and_press(
        browser,
        "button[value=identify]",
        &[("input#email", email)],
        "button[value=identify]",
    )
    .await;
    let code = mail_code(outbox).await;
    enter_code(browser, "input#code[autocomplete=one-time-code]", &code).await;
    fill_and_press(
        browser,
        "input#new_password[autocomplete=new-password]",
        &[
            ("input#new_password", password),
            ("input#confirm_password", password),
        ],
        "button[value=new_password]",
    )
    .await;
}

#[tokio::test]
async fn sign_up_with_emailed_code_then_authenticator_app_in_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let outbox = tempfile::tempdir().unwrap();
    let server = server_with_outbox(outbox.path(), |_| {}).await;
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            attributes: vec![AttributeSpec::parse_cli("displayName:required").unwrap()],
            mfa: MfaPolicy::Required,
            mfa_methods: vec![MfaMethod::Totp],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let redirect = server.redirect_uri();
    let authorize = authorize_url(&server, &client_id, &[("scope", "openid")]);
    let browser = &driver.client;
    browser.goto(authorize.as_str()).await.unwrap();

    sign_up(
        browser,
        outbox.path(),
        "chrome.user@example.com",
        "chromium passphrase 1",
    )
    .await;
    fill_and_press(
        browser,
        "input#attr-displayName",
        &[("input#attr-displayName", "Chrome User")],
        "button[value=attributes]",
    )
    .await;

    // MFA is required and the new account has no method: register the authenticator app
    // from the secret shown as text (the QR code is beside it).
    let secret = text_of(browser, "code#totp-secret").await;
    browser
        .find(Locator::Css(".qr svg"))
        .await
        .expect("a QR code");
    fill_and_press(
        browser,
        "code#totp-secret",
        &[("input#code", &totp_now(&secret))],
        "button[value=verify]",
    )
    .await;
    let codes = text_of(browser, "#recovery-codes").await;
    assert_eq!(codes.lines().count(), 10, "{codes}");
    browser
        .find(Locator::Css("button[value=acknowledge]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let landed = wait_for_url(browser, &redirect).await;
    assert!(landed.query_pairs().any(|(k, _)| k == "code"));

    // Signed out, the password and the app's next code sign in again.
    let fresh = crate::harness::browser();
    let page = crate::harness::sign_in_page(&server, &fresh, &client_id).await;
    let page = crate::harness::submit_sign_in(
        &server,
        &fresh,
        &page.text().await.unwrap(),
        "chrome.user@example.com",
        "chromium passphrase 1",
    )
    .await;
    assert_eq!(page.status(), 200);
    let html = crate::harness::html_unescape(&page.text().await.unwrap());
    assert!(html.contains("Verify it's you"), "{html}");

    server.stop().await;
    driver.stop().await;
}

async fn texted_code(outbox: &std::path::Path) -> String {
    let sms: serde_json::Value =
        serde_json::from_str(&next_file(&outbox.join("sms"), "json").await).unwrap();
    code_in(sms["body"].as_str().unwrap())
}

#[tokio::test]
async fn password_reset_sms_registration_and_email_code_sign_in_in_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let outbox = tempfile::tempdir().unwrap();
    let server = server_with_outbox(outbox.path(), |_| {}).await;
    server.user("reset.me@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            mfa: MfaPolicy::Required,
            mfa_methods: vec![MfaMethod::Sms],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let redirect = server.redirect_uri();
    let authorize = authorize_url(
        &server,
        &client_id,
        &[("scope", "openid"), ("prompt", "login")],
    );
    let browser = &driver.client;
    browser.goto(authorize.as_str()).await.unwrap();

    // Forgot the password: prove the mailbox (one wrong try first).
    browser
        .find(Locator::Css("a#forgot-password"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill_and_press(
        browser,
        "button[value=identify]",
        &[("input#email", "reset.me@example.com")],
        "button[value=identify]",
    )
    .await;
    let code = mail_code(outbox.path()).await;
    enter_code(browser, "input#code", "00000000").await;
    assert_eq!(
        text_of(browser, "#attempts-left").await,
        "You have 4 more tries."
    );
    enter_code(browser, "input#code", &code).await;

    // MFA is required and texts are the only method: before anything changes, register a
    // phone, verified by a code; only then the new password.
    fill_and_press(
        browser,
        "input#phone[autocomplete=tel]",
        &[("input#phone", "+1 555 010 4477")],
        "button[value=phone]",
    )
    .await;
    let texted = texted_code(outbox.path()).await;
    enter_code(browser, "input#code", &texted).await;
    fill_and_press(browser, "#recovery-codes", &[], "button[value=acknowledge]").await;
    fill_and_press(
        browser,
        "input#new_password",
        &[
            ("input#new_password", "reset in chromium 7"),
            ("input#confirm_password", "reset in chromium 7"),
        ],
        "button[value=new_password]",
    )
    .await;
    wait_for_url(browser, &redirect).await;

    // Sign in again with an emailed code instead of the password, then the texted code.
    browser.goto(authorize.as_str()).await.unwrap();
    fill_and_press(
        browser,
        "button[value=use_code]",
        &[("input#email", "reset.me@example.com")],
        "button[value=use_code]",
    )
    .await;
    let code = mail_code(outbox.path()).await;
    enter_code(browser, "input#code", &code).await;
    let texted = texted_code(outbox.path()).await;
    enter_code(browser, "input#recovery_code", &texted).await;
    let landed = wait_for_url(browser, &redirect).await;
    assert!(landed.query_pairs().any(|(k, _)| k == "code"));

    server.stop().await;
    driver.stop().await;
}

#[tokio::test]
async fn passwordless_sign_up_and_sign_in_in_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let outbox = tempfile::tempdir().unwrap();
    let server = server_with_outbox(outbox.path(), |_| {}).await;
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            methods: vec![SignInMethod::EmailOtp],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let redirect = server.redirect_uri();
    let authorize = authorize_url(
        &server,
        &client_id,
        &[("scope", "openid"), ("prompt", "create")],
    );
    let browser = &driver.client;
    browser.goto(authorize.as_str()).await.unwrap();

    // Sign-up: the emailed code is all it takes; no password is asked for.
    fill_and_press(
        browser,
        "button[value=identify]",
        &[("input#email", "no.password@example.com")],
        "button[value=identify]",
    )
    .await;
    let code = mail_code(outbox.path()).await;
    enter_code(browser, "input#code", &code).await;
    wait_for_url(browser, &redirect).await;
    let user = server
        .portico()
        .store
        .find_user_by_email(server.tenant.id, "no.password@example.com")
        .await
        .unwrap()
        .expect("the account exists");
    assert!(user.password_hash.is_none());

    // Sign-in (forced with prompt=login): the page offers only the code.
    let login = authorize_url(
        &server,
        &client_id,
        &[("scope", "openid"), ("prompt", "login")],
    );
    browser.goto(login.as_str()).await.unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("button[value=use_code]"))
        .await
        .unwrap();
    assert!(
        browser.find(Locator::Css("input#password")).await.is_err(),
        "no password field in a passwordless flow"
    );
    fill_and_press(
        browser,
        "button[value=use_code]",
        &[("input#email", "no.password@example.com")],
        "button[value=use_code]",
    )
    .await;
    let code = mail_code(outbox.path()).await;
    enter_code(browser, "input#code", &code).await;
    let landed = wait_for_url(browser, &redirect).await;
    assert!(landed.query_pairs().any(|(k, _)| k == "code"));

    server.stop().await;
    driver.stop().await;
}

#[tokio::test]
async fn hosted_sign_in_page_works_in_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    let redirect = server.redirect_uri();
    let authorize = authorize_url(
        &server,
        &client_id,
        &[("scope", "openid profile"), ("state", "browser-state")],
    );
    let browser = &driver.client;
    browser.goto(authorize.as_str()).await.unwrap();

    // Accessible, labelled form.
    let email = browser.find(Locator::Css("input#email")).await.unwrap();
    assert_eq!(email.attr("type").await.unwrap().as_deref(), Some("email"));
    assert_eq!(
        email.attr("autocomplete").await.unwrap().as_deref(),
        Some("username")
    );
    let password = browser.find(Locator::Css("input#password")).await.unwrap();
    assert_eq!(
        password.attr("autocomplete").await.unwrap().as_deref(),
        Some("current-password")
    );
    assert_eq!(
        browser
            .find(Locator::Css("label[for=email]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "Email address"
    );
    assert_eq!(
        browser
            .find(Locator::Css("label[for=password]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "Password"
    );

    // A wrong password is reported inline, with the email kept.
    email.send_keys("alice@example.com").await.unwrap();
    password.send_keys("not the password").await.unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The click navigates: wait for the new page's error rather than racing its load.
    let error = browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("[role=alert]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(error.contains("incorrect"), "{error}");
    // The flow now asks only for the password, showing whose it is.
    let kept = browser
        .find(Locator::Css(".identity"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(kept, "alice@example.com");

    browser
        .find(Locator::Css("input#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let landed = wait_for_url(browser, &redirect).await;
    let params: Vec<(String, String)> = landed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(param(&params, "state"), Some("browser-state"));
    let code = param(&params, "code").expect("code").to_owned();
    let tokens = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/token"))
        .basic_auth(&client_id, secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status(), 200);

    // The SSO cookie makes the second authorization silent.
    browser.goto(authorize.as_str()).await.unwrap();
    let silent = wait_for_url(browser, &redirect).await;
    assert!(silent.query_pairs().any(|(k, _)| k == "code"));

    server.stop().await;
    driver.stop().await;
}

/// A person opens the sign-in page, then (before finishing) follows a link from another site
/// to a sign-in in a second tab. The anti-forgery cookie is `SameSite=Lax`, so the second
/// tab's cross-site navigation carries it and the first tab's form still works (with
/// `Strict`, the second tab would get a new cookie and the first would fail).
#[tokio::test]
async fn a_sign_in_from_another_site_in_a_second_tab_does_not_break_the_first_in_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = TestServer::start().await;
    server.user("tabs@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    let first_url = authorize_url(
        &server,
        &client_id,
        &[("scope", "openid"), ("state", "one")],
    );
    let second_url = authorize_url(
        &server,
        &client_id,
        &[("scope", "openid"), ("state", "two")],
    );
    let link = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>news</title></head>\
         <body><a id=\"go\" href=\"{}\">Sign in</a></body></html>",
        html_escape(second_url.as_str())
    );
    let elsewhere = crate::harness::app_server(axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let link = link.clone();
            async move { axum::response::Html(link) }
        }),
    ))
    .await;
    let browser = &driver.client;
    browser.goto(first_url.as_str()).await.unwrap();
    text_of(browser, "input#email").await;
    let first = browser.window().await.unwrap();
    let second = browser.new_window(true).await.unwrap().handle;
    browser.switch_to_window(second).await.unwrap();
    browser.goto(&elsewhere).await.unwrap();
    browser
        .find(Locator::Css("a#go"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(browser, &server.base).await;
    text_of(browser, "input#email").await;

    browser.switch_to_window(first).await.unwrap();
    fill_and_press(
        browser,
        "input#email",
        &[
            ("input#email", "tabs@example.com"),
            ("input#password", PASSWORD),
        ],
        "button[type=submit]",
    )
    .await;
    let landed = wait_for_url(browser, &server.redirect_uri()).await;
    let params: Vec<(String, String)> = landed.query_pairs().into_owned().collect();
    assert_eq!(param(&params, "state"), Some("one"));
    assert!(param(&params, "code").is_some(), "{landed}");
    server.stop().await;
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;")
}
