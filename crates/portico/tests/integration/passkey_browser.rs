//! Passkeys in Chromium, with the browser's own WebAuthn and a virtual authenticator (the
//! WebDriver extension; resident keys, user verification on): Portico at
//! `http://localhost:PORT` (a relying-party id must be a host name), the app on another
//! origin. Enrolled on the security page, when offered after sign-up and just in time as a
//! required second factor, then used to sign in from the autofill and the sign-in page's
//! passkey button, with no address typed and no password.

use fantoccini::Locator;
use fantoccini::wd::WebDriverCompatibleCommand;
use portico_core::directory::{AppKind, MfaMethod, MfaPolicy, SignInMethod, UserFlowConfig};

use crate::browser::{Driver, authorize_url, fill_and_press, sign_up, wait_for_text, wait_for_url};
use crate::harness::{Backend, PASSWORD, TestServer, web_app_tokens};
use crate::otp_delivery::file_delivery;
use crate::page::flow_for;

/// The WebDriver command that adds a virtual authenticator to the session.
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/authenticator",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "automaticPresenceSimulation": true,
        });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Portico at `http://localhost:PORT`, its mail written under `outbox` when given.
async fn localhost_server(outbox: Option<&std::path::Path>) -> TestServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    TestServer::start_serving(
        Backend::Sqlite,
        portico_keys::SigningAlgorithm::Rs256,
        |_| {},
        portico::server::ServeOptions {
            listen: format!("127.0.0.1:{port}").parse().unwrap(),
            public_url: Some(format!("http://localhost:{port}")),
            tls: None,
            trusted_proxies: Vec::new(),
            metrics_listen: None,
            delivery: outbox.map(file_delivery),
        },
    )
    .await
    .unwrap()
}

/// The `amr` of an ID token.
fn amr(id: &serde_json::Value) -> Vec<&str> {
    id["amr"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect()
}

/// Signed in by a passkey that verified the person: two factors, no password.
fn assert_passkey_amr(id: &serde_json::Value) {
    let amr = amr(id);
    assert!(amr.contains(&"mfa") && !amr.contains(&"pwd"), "{amr:?}");
}

/// An app whose flow asks for a password, then requires a passkey as the second factor.
async fn passkey_mfa_app(server: &TestServer) -> (String, Option<String>) {
    let (app, secret) = server.app(AppKind::Web).await;
    flow_for(
        server,
        &app,
        UserFlowConfig {
            methods: vec![SignInMethod::Password],
            mfa: MfaPolicy::Required,
            mfa_methods: vec![MfaMethod::Passkey],
            ..UserFlowConfig::default()
        },
    )
    .await;
    (app, secret)
}

/// Signed out, alice's address and password on `app`'s sign-in page.
async fn alices_password(browser: &fantoccini::Client, server: &TestServer, app: &str) {
    browser.delete_all_cookies().await.unwrap();
    let authorize = authorize_url(server, app, &[("scope", "openid")]);
    browser.goto(authorize.as_str()).await.unwrap();
    fill_and_press(
        browser,
        "input#password",
        &[
            ("input#email", "alice@example.com"),
            ("input#password", PASSWORD),
        ],
        "button[value=sign_in]",
    )
    .await;
}

/// Waits until the element `css` is shown (the pages' script reveals passkey buttons only
/// where the browser has WebAuthn) and clicks it.
async fn click_when_shown(browser: &fantoccini::Client, css: &str) {
    let button = browser
        .wait()
        .at_most(std::time::Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap();
    for _ in 0..100 {
        if button.is_displayed().await.unwrap_or(false) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    button.click().await.unwrap();
}

#[tokio::test]
async fn a_passkey_made_on_the_security_page_signs_in_serves_as_second_factor_and_is_managed_in_chromium()
 {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let browser = &driver.client;
    browser.issue_cmd(AddVirtualAuthenticator).await.unwrap();
    let server = localhost_server(None).await;
    server.user("alice@example.com").await;
    let (app, secret) = server.app(AppKind::Web).await;
    let secret = secret.unwrap();
    flow_for(
        &server,
        &app,
        UserFlowConfig {
            methods: vec![SignInMethod::Password, SignInMethod::Passkey],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let redirect = server.redirect_uri();

    // Signed in with the password first, the person adds a passkey on the security page.
    let authorize = authorize_url(&server, &app, &[("scope", "openid")]);
    alices_password(browser, &server, &app).await;
    wait_for_url(browser, &redirect).await;
    let security = format!("{}/{}/account/security", server.base, server.tenant.id);
    browser.goto(&security).await.unwrap();
    fill_and_press(browser, "#passkey-add", &[], "#passkey-add").await;
    fill_and_press(browser, "#passkey-create", &[], "#passkey-create").await;
    let page = wait_for_text(browser, "id=\"notice\"").await;
    assert!(page.contains("data-credential="), "{page}");

    // Signed out (cookies gone), the address field's autofill (conditional UI) offers the
    // passkey; the virtual authenticator picks its one passkey itself: signed in, with no
    // address typed and no click.
    browser.delete_all_cookies().await.unwrap();
    browser.goto(authorize.as_str()).await.unwrap();
    let landed = wait_for_url(browser, &redirect).await;
    let (id, _) = web_app_tokens(&server, &app, &secret, landed.as_str()).await;
    assert_passkey_amr(&id);

    // With the address given (the app's login_hint) there is no autofill request: the
    // "sign in with a passkey" button asks.
    browser.delete_all_cookies().await.unwrap();
    let hinted = authorize_url(
        &server,
        &app,
        &[("scope", "openid"), ("login_hint", "alice@example.com")],
    );
    browser.goto(hinted.as_str()).await.unwrap();
    browser
        .wait()
        .at_most(std::time::Duration::from_secs(15))
        .for_element(Locator::Css("#passkey-button"))
        .await
        .unwrap();
    assert!(
        !browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&redirect),
        "nothing signed in before the click"
    );
    click_when_shown(browser, "#passkey-button").await;
    let landed = wait_for_url(browser, &redirect).await;
    let (id, _) = web_app_tokens(&server, &app, &secret, landed.as_str()).await;
    assert_passkey_amr(&id);

    // On the security page (the passkey's session is fresh and passed two factors): rename.
    browser.goto(&security).await.unwrap();
    let name = browser
        .wait()
        .at_most(std::time::Duration::from_secs(15))
        .for_element(Locator::Css("input#name-1"))
        .await
        .unwrap();
    name.clear().await.unwrap();
    name.send_keys("Work laptop").await.unwrap();
    browser
        .find(Locator::Css("li button[value=rename]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(browser, "value=\"Work laptop\"").await;

    // Another app whose flow takes the passkey as the second factor after the password.
    let (strict, strict_secret) = passkey_mfa_app(&server).await;
    alices_password(browser, &server, &strict).await;
    wait_for_text(browser, "id=\"passkey-prompt\"").await;
    click_when_shown(browser, "#passkey-button").await;
    let landed = wait_for_url(browser, &redirect).await;
    let (id, _) = web_app_tokens(&server, &strict, &strict_secret.unwrap(), landed.as_str()).await;
    let amr = amr(&id);
    assert!(amr.contains(&"pwd") && amr.contains(&"mfa"), "{amr:?}");

    // It is that flow's only second factor for her: the security page keeps it.
    browser.goto(&security).await.unwrap();
    fill_and_press(
        browser,
        "li button[value=remove]",
        &[],
        "li button[value=remove]",
    )
    .await;
    let page = wait_for_text(browser, "id=\"error-summary\"").await;
    assert!(page.contains("data-credential="), "still there: {page}");
    server.stop().await;
    driver.stop().await;
}

#[tokio::test]
async fn a_passkey_offered_after_sign_up_and_one_required_just_in_time_are_made_in_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let browser = &driver.client;
    browser.issue_cmd(AddVirtualAuthenticator).await.unwrap();
    let outbox = tempfile::tempdir().unwrap();
    let server = localhost_server(Some(outbox.path())).await;
    let redirect = server.redirect_uri();
    let (app, secret) = server.app(AppKind::Web).await;
    flow_for(
        &server,
        &app,
        UserFlowConfig {
            methods: vec![SignInMethod::Password, SignInMethod::Passkey],
            offer_passkey: true,
            ..UserFlowConfig::default()
        },
    )
    .await;

    // Sign-up: address, emailed code, password; then the offer, taken.
    let authorize = authorize_url(&server, &app, &[("scope", "openid")]);
    browser.goto(authorize.as_str()).await.unwrap();
    sign_up(
        browser,
        outbox.path(),
        "new.person@example.com",
        "chromium passphrase 1",
    )
    .await;
    wait_for_text(browser, "id=\"passkey-offer\"").await;
    click_when_shown(browser, "#passkey-create").await;
    let landed = wait_for_url(browser, &redirect).await;
    let (id, _) = web_app_tokens(&server, &app, secret.as_deref().unwrap(), landed.as_str()).await;
    assert!(amr(&id).contains(&"pwd"), "the sign-up itself: {id}");

    // Signed out, the new passkey signs in from the autofill with no address typed.
    browser.delete_all_cookies().await.unwrap();
    browser.goto(authorize.as_str()).await.unwrap();
    let landed = wait_for_url(browser, &redirect).await;
    let (passkey_id, _) =
        web_app_tokens(&server, &app, secret.as_deref().unwrap(), landed.as_str()).await;
    assert_passkey_amr(&passkey_id);
    assert_eq!(passkey_id["sub"], id["sub"], "the account that signed up");

    // Another app requires a passkey as the second factor; an account with no factor yet
    // registers one just in time after its password, and is through with both.
    server.user("alice@example.com").await;
    let (strict, strict_secret) = passkey_mfa_app(&server).await;
    alices_password(browser, &server, &strict).await;
    wait_for_text(browser, "id=\"enrol-passkey-prompt\"").await;
    click_when_shown(browser, "#passkey-create").await;
    let landed = wait_for_url(browser, &redirect).await;
    let (id, _) = web_app_tokens(&server, &strict, &strict_secret.unwrap(), landed.as_str()).await;
    let amr = amr(&id);
    assert!(amr.contains(&"pwd") && amr.contains(&"mfa"), "{amr:?}");
    server.stop().await;
    driver.stop().await;
}
