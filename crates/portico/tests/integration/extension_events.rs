//! Extensions at the steps of the sign-in engine: one-time codes delivered by the company's
//! service (and Portico's mailer as the fallback it may ask for); sign-up attributes
//! prefilled, refused, changed or blocked by it, over the native API and on the hosted pages
//! in Chromium; passwords migrated from its legacy store at the first sign-in.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use portico_claims::{
    DecryptionKey, EventCommon, Handler, HandlerError, OtpAction, OtpContext, PasswordAction,
    PasswordContext, Receiver, SignUpInfo, StartAction, SubmitAction, TokenValidator,
    TrustedIssuer,
};
use portico_core::Portico;
use portico_core::clock::ManualClock;
use portico_core::directory::{AttributeSpec, SignInMethod, TenantRef, User, UserFlowConfig};
use portico_core::extensions::{ExtensionEvent, NewExtension};
use portico_core::ids::ClientId;
use portico_core::lockout;
use portico_core::signin::SignInError;
use portico_core::store::LockoutSubject;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::extensions::calls_logged;
use crate::harness::TestServer;
use crate::native_auth::{
    assert_error, assert_tokens, challenge, ct, initiate, native_app, password_sign_in, token,
};
use crate::native_signup::{proceed, sign_up_through_code};
use crate::otp_delivery::server_with_outbox;
use crate::page::{flow_for, mail_code};

/// Delivers codes by handing them to the test (as a company's SMS or mail service would).
struct Courier {
    codes: mpsc::UnboundedSender<(String, String, Option<String>)>,
}

#[async_trait::async_trait]
impl Handler for Courier {
    async fn otp_send(
        &self,
        event: &EventCommon,
        otp: &OtpContext,
    ) -> Result<OtpAction, HandlerError> {
        let kind = event.authentication_context.request_type.clone();
        self.codes
            .send((otp.identifier.clone(), otp.one_time_code.clone(), kind))
            .map_err(|_| HandlerError::new("nobody listens"))?;
        Ok(OtpAction::Sent)
    }
}

fn otp_extension(name: &str, target: &str, app: &str, fallback: bool) -> NewExtension {
    NewExtension {
        name: name.into(),
        event: ExtensionEvent::OtpSend,
        target_url: target.into(),
        resource_app_id: Some("0e7a0000-0000-4000-8000-000000000001".into()),
        apps: vec![app.parse().unwrap()],
        timeout_ms: Some(500),
        retries: Some(0),
        claims: Vec::new(),
        fallback,
        encryption_key: None,
    }
}

/// Messages waiting in the outbox (the worker may not have sent them yet).
async fn queued_mail(server: &TestServer) -> i64 {
    let db = server.guard.sqlite_file().unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    count
}

async fn email_code_app(server: &TestServer) -> String {
    let client_id = native_app(server).await;
    flow_for(
        server,
        &client_id,
        UserFlowConfig {
            methods: vec![SignInMethod::EmailOtp],
            ..UserFlowConfig::default()
        },
    )
    .await;
    client_id
}

/// Initiates an email-code sign-in over the native API and asks for the code.
async fn ask_for_code(server: &TestServer, client_id: &str, email: &str) -> (u16, Value) {
    let (status, started) = initiate(server, client_id, email, "oob redirect").await;
    assert_eq!(status, 200, "{started}");
    challenge(server, client_id, ct(&started), "oob redirect").await
}

async fn redeem_code(server: &TestServer, client_id: &str, asked: &Value, code: &str) -> Value {
    let (status, tokens) = token(
        server,
        client_id,
        &[
            ("grant_type", "oob"),
            ("continuation_token", ct(asked)),
            ("oob", code),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

#[tokio::test]
async fn the_company_service_delivers_the_code_and_it_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let tenant = TenantRef::Id(server.tenant.id);
    server.user("grace@example.com").await;
    let client_id = email_code_app(&server).await;
    let (codes_tx, mut codes) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/otp",
        listener.local_addr().unwrap().port()
    );
    let validator = TokenValidator::new(vec![TrustedIssuer::new(
        server.issuer(),
        "0e7a0000-0000-4000-8000-000000000001",
    )]);
    let receiver = Receiver::new(validator, Courier { codes: codes_tx }).router("/otp");
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    server
        .portico()
        .create_extension(&tenant, otp_extension("courier", &url, &client_id, false))
        .await
        .unwrap();

    let (status, asked) = ask_for_code(&server, &client_id, "grace@example.com").await;
    assert_eq!(status, 200, "{asked}");
    let (to, code, kind) = codes.recv().await.unwrap();
    assert_eq!(to, "grace@example.com");
    assert_eq!(kind.as_deref(), Some("signIn"));
    assert_eq!(code.len(), 8);
    assert_eq!(
        queued_mail(&server).await,
        0,
        "no mail when the extension delivers"
    );
    let tokens = redeem_code(&server, &client_id, &asked, &code).await;
    let claims = assert_tokens(&server, &tokens).await;
    assert_eq!(claims["amr"], serde_json::json!(["otp"]));
    server.stop().await;
}

#[tokio::test]
async fn a_failed_delivery_falls_back_to_mail_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let tenant = TenantRef::Id(server.tenant.id);
    server.user("grace@example.com").await;
    // Port 9 (discard) refuses connections here: the call fails at once.
    let down = "http://127.0.0.1:9/otp";
    let strict = email_code_app(&server).await;
    let lenient = email_code_app(&server).await;
    let portico = server.portico();
    let strict_extension = portico
        .create_extension(&tenant, otp_extension("strict", down, &strict, false))
        .await
        .unwrap();
    portico
        .create_extension(&tenant, otp_extension("lenient", down, &lenient, true))
        .await
        .unwrap();

    // Without a fallback no code goes anywhere, as in Entra; the step itself answers as it
    // would for any address (the call is made beside it), and the call log has the failure.
    let (status, started) = initiate(&server, &strict, "grace@example.com", "oob redirect").await;
    assert_eq!(status, 200, "{started}");
    let failed = calls_logged(&server, &strict_extension.id, 1).await;
    assert_eq!(failed[0].error_code, Some(1_003_027));
    assert_eq!(queued_mail(&server).await, 0);
    // The code that reached no one was spent: asking again makes (and tries to send) a new
    // one rather than pointing at the lost one.
    let (status, again) = initiate(&server, &strict, "grace@example.com", "oob redirect").await;
    assert_eq!(status, 200, "{again}");
    calls_logged(&server, &strict_extension.id, 2).await;

    // With one, the mailer sends it and the person signs in.
    let (status, asked) = ask_for_code(&server, &lenient, "grace@example.com").await;
    assert_eq!(status, 200, "{asked}");
    let code = mail_code(dir.path()).await;
    redeem_code(&server, &lenient, &asked, &code).await;
    server.stop().await;
}

/// The company's sign-up rules: prefill the city; postal codes are digits; nobody from
/// Gotham; display names are kept in capitals.
struct Registrar {
    calls: mpsc::UnboundedSender<&'static str>,
}

#[async_trait::async_trait]
impl Handler for Registrar {
    async fn attribute_collection_start(
        &self,
        _event: &EventCommon,
        sign_up: &SignUpInfo,
    ) -> Result<StartAction, HandlerError> {
        let _ = self.calls.send("start");
        assert!(sign_up.attributes.contains_key("email"), "{sign_up:?}");
        let mut prefill = serde_json::Map::new();
        prefill.insert("city".into(), "Oslo".into());
        Ok(StartAction::Prefill(prefill))
    }

    async fn attribute_collection_submit(
        &self,
        _event: &EventCommon,
        sign_up: &SignUpInfo,
    ) -> Result<SubmitAction, HandlerError> {
        let _ = self.calls.send("submit");
        let text = |name: &str| {
            sign_up
                .attributes
                .get(name)
                .and_then(|a| a.value.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        if text("city") == "Gotham" {
            return Ok(SubmitAction::Block(Some("No sign-ups from Gotham.".into())));
        }
        if !text("postalCode").chars().all(|c| c.is_ascii_digit()) {
            return Ok(SubmitAction::ValidationError {
                message: "Please check what you entered.".into(),
                attribute_errors: BTreeMap::from([(
                    "postalCode".to_owned(),
                    "A postal code has digits only.".to_owned(),
                )]),
            });
        }
        let mut changed = serde_json::Map::new();
        changed.insert(
            "displayName".into(),
            text("displayName").to_uppercase().into(),
        );
        Ok(SubmitAction::Modify(changed))
    }
}

/// A server whose sign-up collects a display name, a postal code and a city, with the
/// Registrar attached to both attribute events; returns the app and the call log.
pub(crate) async fn registrar_server(
    dir: &std::path::Path,
    native: bool,
) -> (TestServer, String, mpsc::UnboundedReceiver<&'static str>) {
    let server = server_with_outbox(dir, |_| {}).await;
    let tenant = TenantRef::Id(server.tenant.id);
    let client_id = if native {
        native_app(&server).await
    } else {
        server.app(portico_core::directory::AppKind::Web).await.0
    };
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            methods: vec![SignInMethod::EmailOtp],
            attributes: vec![
                AttributeSpec::parse_cli("displayName:required").unwrap(),
                AttributeSpec::parse_cli("postalCode:required").unwrap(),
                AttributeSpec::parse_cli("city").unwrap(),
            ],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let (calls_tx, calls) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/signup",
        listener.local_addr().unwrap().port()
    );
    let audience = "0e7a0000-0000-4000-8000-000000000002";
    let validator = TokenValidator::new(vec![TrustedIssuer::new(server.issuer(), audience)]);
    let receiver = Receiver::new(validator, Registrar { calls: calls_tx }).router("/signup");
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    for event in [
        ExtensionEvent::AttributeCollectionStart,
        ExtensionEvent::AttributeCollectionSubmit,
    ] {
        let extension = NewExtension {
            name: event.as_str().into(),
            event,
            target_url: url.clone(),
            resource_app_id: Some(audience.into()),
            apps: vec![client_id.parse().unwrap()],
            timeout_ms: None,
            retries: None,
            claims: Vec::new(),
            fallback: false,
            encryption_key: None,
        };
        server
            .portico()
            .create_extension(&tenant, extension)
            .await
            .unwrap();
    }
    (server, client_id, calls)
}

#[tokio::test]
async fn sign_up_attributes_are_checked_changed_or_blocked_over_the_native_api() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client_id, mut calls) = registrar_server(dir.path(), true).await;

    // The code proves the address; the extension refuses the postal code sent with start,
    // in its own words, and the client gets a token to send the attributes again.
    let (status, refused) = sign_up_through_code(
        &server,
        dir.path(),
        &client_id,
        "kim@example.com",
        &[(
            "attributes",
            r#"{"displayName":"Kim","postalCode":"NW1","city":"London"}"#,
        )],
    )
    .await;
    assert_error(status, &refused, "invalid_grant", 55107);
    assert_eq!(refused["suberror"], "attribute_validation_failed");
    assert_eq!(
        refused["invalid_attributes"],
        json!([{"name": "postalCode", "error": "A postal code has digits only."}])
    );
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("Please check what you entered.")
    );
    assert_eq!(calls.recv().await, Some("start"));
    assert_eq!(calls.recv().await, Some("submit"));
    let (status, created) = proceed(
        &server,
        &client_id,
        ct(&refused),
        &[
            ("grant_type", "attributes"),
            ("attributes", r#"{"postalCode":"10115"}"#),
        ],
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        calls.recv().await,
        Some("submit"),
        "asked again, not started again"
    );
    let user = server
        .portico()
        .store
        .find_user_by_email(server.tenant.id, "kim@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.display_name.as_deref(),
        Some("KIM"),
        "the extension's change"
    );
    assert_eq!(user.attributes["postalCode"], "10115");

    // Blocked: no account, and the extension's message.
    let (status, blocked) = sign_up_through_code(
        &server,
        dir.path(),
        &client_id,
        "bruce@example.com",
        &[(
            "attributes",
            r#"{"displayName":"Bruce","postalCode":"10001","city":"Gotham"}"#,
        )],
    )
    .await;
    assert_eq!(status, 400, "{blocked}");
    assert_eq!(blocked["error"], "access_denied");
    assert_eq!(blocked["error_codes"], json!([1_003_023]));
    assert!(
        blocked["error_description"]
            .as_str()
            .unwrap()
            .contains("No sign-ups from Gotham.")
    );
    assert!(
        server
            .portico()
            .store
            .find_user_by_email(server.tenant.id, "bruce@example.com")
            .await
            .unwrap()
            .is_none()
    );
    server.stop().await;
}

#[tokio::test]
async fn sign_up_attributes_are_prefilled_refused_and_blocked_in_chromium() {
    use crate::browser::{
        Driver, authorize_url, enter_code, fill_and_press, text_of, wait_for_text, wait_for_url,
    };
    let Some(driver) = Driver::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (server, client_id, mut calls) = registrar_server(dir.path(), false).await;
    let browser = &driver.client;
    let sign_up = authorize_url(
        &server,
        &client_id,
        &[("scope", "openid"), ("prompt", "create")],
    );
    browser.goto(sign_up.as_str()).await.unwrap();
    fill_and_press(
        browser,
        "button[value=identify]",
        &[("input#email", "lin@example.com")],
        "button[value=identify]",
    )
    .await;
    let code = mail_code(dir.path()).await;
    enter_code(browser, "input#code", &code).await;
    // The attributes page, with the city the extension gave.
    let city = browser
        .wait()
        .at_most(std::time::Duration::from_secs(15))
        .for_element(fantoccini::Locator::Css("input#attr-city"))
        .await
        .unwrap();
    assert_eq!(city.prop("value").await.unwrap().as_deref(), Some("Oslo"));
    fill_and_press(
        browser,
        "input#attr-displayName",
        &[
            ("input#attr-displayName", "Lin"),
            ("input#attr-postalCode", "N1 9GU"),
        ],
        "button[value=attributes]",
    )
    .await;
    assert_eq!(calls.recv().await, Some("start"));
    // Refused in the extension's words, at the field and on the page, what was typed kept.
    assert_eq!(
        text_of(browser, "#err-postalCode").await,
        "A postal code has digits only."
    );
    assert_eq!(
        text_of(browser, "#error-summary p").await,
        "Please check what you entered."
    );
    let kept = browser
        .find(fantoccini::Locator::Css("input#attr-city"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("Oslo"));
    let field = browser
        .find(fantoccini::Locator::Css("input#attr-postalCode"))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys("10115").await.unwrap();
    browser
        .find(fantoccini::Locator::Css("button[value=attributes]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The app on its own origin gets its code.
    let landed = wait_for_url(browser, &server.redirect_uri()).await;
    assert!(landed.query_pairs().any(|(k, _)| k == "code"));
    let user = server
        .portico()
        .store
        .find_user_by_email(server.tenant.id, "lin@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.display_name.as_deref(), Some("LIN"));
    assert_eq!(user.attributes["city"], "Oslo");

    // From Gotham: the block page, with the extension's message, and no account.
    browser.goto(sign_up.as_str()).await.unwrap();
    fill_and_press(
        browser,
        "button[value=identify]",
        &[("input#email", "bruce@example.com")],
        "button[value=identify]",
    )
    .await;
    let code = mail_code(dir.path()).await;
    enter_code(browser, "input#code", &code).await;
    let city = browser
        .wait()
        .at_most(std::time::Duration::from_secs(15))
        .for_element(fantoccini::Locator::Css("input#attr-city"))
        .await
        .unwrap();
    city.clear().await.unwrap();
    fill_and_press(
        browser,
        "input#attr-city",
        &[
            ("input#attr-displayName", "Bruce"),
            ("input#attr-postalCode", "10001"),
            ("input#attr-city", "Gotham"),
        ],
        "button[value=attributes]",
    )
    .await;
    // The block page replaces the attributes page.
    let page = wait_for_text(browser, "No sign-ups from Gotham.").await;
    assert!(
        page.contains("Sign-up isn"),
        "the block page's title: {page}"
    );
    assert!(
        server
            .portico()
            .store
            .find_user_by_email(server.tenant.id, "bruce@example.com")
            .await
            .unwrap()
            .is_none()
    );
    server.stop().await;
    driver.stop().await;
}

/// The company's old user store: it knows two passwords, and one of them is too weak to keep.
/// While `locked`, it answers every password as wrong (as its own lockout would).
#[derive(Clone, Default)]
struct LegacyStore {
    calls: Arc<AtomicUsize>,
    locked: Arc<AtomicBool>,
}

impl LegacyStore {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Handler for LegacyStore {
    async fn password_submit(
        &self,
        event: &EventCommon,
        context: &PasswordContext,
    ) -> Result<PasswordAction, HandlerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let user = event.authentication_context.user.as_ref();
        assert_eq!(
            user.and_then(|u| u.mail.as_deref()),
            Some(context.username.as_str())
        );
        if self.locked.load(Ordering::SeqCst) {
            return Ok(PasswordAction::Retry);
        }
        Ok(
            match (context.username.as_str(), context.password.as_str()) {
                ("old@example.com" | "kept@example.com", "Legacy-Passw0rd-1998") => {
                    PasswordAction::Migrate
                }
                ("weak@example.com", "Legacy-Passw0rd-1998") => PasswordAction::Update,
                _ => PasswordAction::Retry,
            },
        )
    }
}

/// Accounts whose passwords are still in the company's legacy store, and that store behind a
/// password-submit extension (encrypted, as Entra's is) for `client_id`.
async fn legacy_store(server: &TestServer, client_id: &str, emails: &[&str]) -> LegacyStore {
    use aws_lc_rs::encoding::AsDer;
    use base64::Engine as _;
    let tenant = TenantRef::Id(server.tenant.id);
    let portico = server.portico();
    for email in emails {
        portico
            .create_user(
                &tenant,
                portico_core::directory::NewUser {
                    email: (*email).into(),
                    password: None,
                    display_name: None,
                    legacy_password: true,
                },
            )
            .await
            .unwrap();
    }
    // The receiver's RSA key: the private half stays with it, the public half is registered.
    let private =
        aws_lc_rs::rsa::PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let spki = private.public_key().as_der().unwrap();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(spki.as_ref())
    );
    let pkcs8 = private.as_der().unwrap();
    let store = LegacyStore::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/password",
        listener.local_addr().unwrap().port()
    );
    let audience = "0e7a0000-0000-4000-8000-000000000003";
    let validator = TokenValidator::new(vec![TrustedIssuer::new(server.issuer(), audience)]);
    let receiver = Receiver::new(validator, store.clone())
        .with_decryption_key(DecryptionKey::from_pkcs8(pkcs8.as_ref()).unwrap())
        .router("/password");
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let mut extension = otp_extension("legacy", &url, client_id, false);
    extension.event = ExtensionEvent::PasswordSubmit;
    extension.resource_app_id = Some(audience.into());
    extension.encryption_key = Some(pem);
    portico.create_extension(&tenant, extension).await.unwrap();
    store
}

/// Accounts whose passwords are in a legacy store, and a `Portico` over the server's store on
/// a clock the test moves.
struct LegacyRig {
    server: TestServer,
    legacy: LegacyStore,
    clock: ManualClock,
    portico: Arc<Portico>,
    client: Option<ClientId>,
}

impl LegacyRig {
    async fn start(emails: &[&str]) -> Self {
        let server = TestServer::start().await;
        let client_id = native_app(&server).await;
        let legacy = legacy_store(&server, &client_id, emails).await;
        let clock = ManualClock::new(server.portico().now());
        let portico = server.portico_at(&clock);
        Self {
            legacy,
            clock,
            portico,
            client: Some(client_id.parse().unwrap()),
            server,
        }
    }

    async fn sign_in(&self, email: &str, password: &str, ip: &str) -> Result<User, SignInError> {
        self.portico
            .sign_in_with_password(
                &self.server.tenant,
                self.client,
                email,
                password,
                ip.parse().unwrap(),
            )
            .await
    }
}

#[tokio::test]
async fn a_legacy_password_migrates_at_the_first_sign_in_and_is_never_sent_again() {
    let server = TestServer::start().await;
    let portico = server.portico();
    let client_id = native_app(&server).await;
    let legacy = legacy_store(
        &server,
        &client_id,
        &["old@example.com", "weak@example.com"],
    )
    .await;
    let count = || legacy.calls();

    // A wrong password: the legacy store says so, and it counts as a wrong password.
    let (status, wrong) =
        password_sign_in(&server, &client_id, "old@example.com", "not-it-at-all", "").await;
    assert_error(status, &wrong, "invalid_grant", 50126);
    assert_eq!(count(), 1);
    // The same wrong password again (a stale saved one, or someone hammering it): answered
    // without asking the company's service again, which may count failures of its own.
    let (status, wrong) =
        password_sign_in(&server, &client_id, "old@example.com", "not-it-at-all", "").await;
    assert_error(status, &wrong, "invalid_grant", 50126);
    assert_eq!(count(), 1);
    // The right one: signed in, and its hash kept here.
    let (status, tokens) = password_sign_in(
        &server,
        &client_id,
        "old@example.com",
        "Legacy-Passw0rd-1998",
        "",
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_tokens(&server, &tokens).await;
    assert_eq!(count(), 2);
    let user = portico
        .store
        .find_user_by_email(server.tenant.id, "old@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!user.password_in_legacy_store);
    assert!(
        user.password_hash
            .as_deref()
            .is_some_and(|h| h.starts_with("$argon2id$"))
    );
    // From now on Portico checks it itself: the extension is not asked again.
    let (status, again) = password_sign_in(
        &server,
        &client_id,
        "old@example.com",
        "Legacy-Passw0rd-1998",
        "",
    )
    .await;
    assert_eq!(status, 200, "{again}");
    let (status, wrong) =
        password_sign_in(&server, &client_id, "old@example.com", "not-it-at-all", "").await;
    assert_error(status, &wrong, "invalid_grant", 50126);
    assert_eq!(count(), 2);
    // Right but too weak to keep: the person must reset it. Tried again, it is asked again
    // (the answer was about a right password) and not counted again, so a person retrying
    // before the reset does not lock themselves out.
    for asked in [3, 4] {
        let (status, weak) = password_sign_in(
            &server,
            &client_id,
            "weak@example.com",
            "Legacy-Passw0rd-1998",
            "",
        )
        .await;
        assert_error(status, &weak, "invalid_grant", 50142);
        assert_eq!(count(), asked);
    }
    let weak = portico
        .store
        .find_user_by_email(server.tenant.id, "weak@example.com")
        .await
        .unwrap()
        .unwrap();
    let record = portico
        .store
        .lockout(server.tenant.id, LockoutSubject::User(weak.id))
        .await
        .unwrap();
    assert_eq!(record.failures, 1);
    server.stop().await;
}

/// The legacy store's own lockout answered the right password as wrong. Once it has lifted,
/// the same password must get through (a repeat is refused unasked only for a short while),
/// and a device retrying a stale password reaches the company's service at most once a while.
#[tokio::test]
async fn a_right_password_refused_by_a_locked_legacy_store_signs_in_once_it_unlocks() {
    let rig = LegacyRig::start(&["old@example.com", "stale@example.com"]).await;
    let (legacy, clock) = (&rig.legacy, &rig.clock);
    let sign_in = |email: &'static str, password: &'static str| {
        let rig = &rig;
        async move {
            let runs = rig.portico.passwords.runs();
            let result = rig.sign_in(email, password, "10.9.0.1").await;
            (
                result.map(|user| user.email),
                rig.portico.passwords.runs() - runs,
            )
        }
    };
    let refused = |result: &Result<String, SignInError>| {
        matches!(result, Err(SignInError::InvalidCredentials))
    };
    let right = "Legacy-Passw0rd-1998";

    legacy.locked.store(true, Ordering::SeqCst);
    let (result, hashes) = sign_in("old@example.com", right).await;
    assert!(refused(&result), "{result:?}");
    // Asking costs a hash too, as any attempt at an unknown address does.
    assert_eq!((legacy.calls(), hashes), (1, 1));
    // Again at once: refused without asking, and hashed like any repeat (no timing tell).
    let (result, hashes) = sign_in("old@example.com", right).await;
    assert!(refused(&result), "{result:?}");
    assert_eq!((legacy.calls(), hashes), (1, 1));
    // The store's lockout lifts; a while later the same password is asked again, and signs in.
    legacy.locked.store(false, Ordering::SeqCst);
    clock.advance(lockout::LEGACY_REPEAT_SECS);
    let (result, _) = sign_in("old@example.com", right).await;
    assert_eq!(result.unwrap(), "old@example.com");
    assert_eq!(legacy.calls(), 2);

    // A stale saved password, retried every minute: asked once per while, not every time.
    let mut asked = Vec::new();
    for _ in 0..12 {
        let (result, _) = sign_in("stale@example.com", "an-old-one").await;
        assert!(refused(&result), "{result:?}");
        asked.push(legacy.calls());
        clock.advance(60);
    }
    assert_eq!(asked, [3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5]);
    rig.server.stop().await;
}

/// The attacker's way to keep a person's right password refused: get the legacy store to
/// answer it wrongly once (its own lockout), then keep asking about a password of their own
/// so that "recently asked" never ends. Each password keeps its own time, so it does end.
#[tokio::test]
async fn an_attackers_guesses_cannot_keep_a_refused_legacy_password_refused() {
    let rig = LegacyRig::start(&["kept@example.com"]).await;
    let (legacy, clock) = (&rig.legacy, &rig.clock);
    let attempt = |password, ip| rig.sign_in("kept@example.com", password, ip);
    legacy.locked.store(true, Ordering::SeqCst);
    let refused = attempt("Legacy-Passw0rd-1998", "10.9.0.1").await;
    assert!(matches!(refused, Err(SignInError::InvalidCredentials)));
    legacy.locked.store(false, Ordering::SeqCst);
    for (step, guess) in ["attacker-1", "attacker-2", "attacker-1", "attacker-3"]
        .into_iter()
        .enumerate()
    {
        clock.advance(lockout::LEGACY_REPEAT_SECS / 4);
        let answer = attempt(guess, "10.66.0.1").await;
        assert!(
            matches!(answer, Err(SignInError::InvalidCredentials)),
            "guess {step}: {answer:?}"
        );
    }
    assert_eq!(
        legacy.calls(),
        4,
        "three distinct guesses asked, one repeat not"
    );
    let user = attempt("Legacy-Passw0rd-1998", "10.9.0.1").await.unwrap();
    assert_eq!(user.email, "kept@example.com");
    rig.server.stop().await;
}

/// Many copies of one wrong password at once, just after its answer's time ran out: one of
/// them asks the legacy store, the rest are refused unasked (they would all reach it, and
/// none counted, if the asking were not claimed first).
#[tokio::test]
async fn parallel_repeats_ask_a_legacy_store_once() {
    let rig = LegacyRig::start(&["parallel@example.com"]).await;
    let (legacy, clock) = (&rig.legacy, &rig.clock);
    let attempt = || rig.sign_in("parallel@example.com", "the-same-wrong-one", "10.9.0.2");
    assert!(matches!(
        attempt().await,
        Err(SignInError::InvalidCredentials)
    ));
    assert_eq!(legacy.calls(), 1);
    clock.advance(lockout::LEGACY_REPEAT_SECS);
    let answers = crate::harness::join_all((0..8).map(|_| attempt()).collect()).await;
    assert!(
        answers
            .iter()
            .all(|answer| matches!(answer, Err(SignInError::InvalidCredentials))),
        "{answers:?}"
    );
    assert_eq!(legacy.calls(), 2);
    rig.server.stop().await;
}

#[tokio::test]
async fn an_unreachable_extension_stops_sign_up_and_migration_with_entras_number() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let tenant = TenantRef::Id(server.tenant.id);
    let portico = server.portico();
    let client_id = email_code_app(&server).await;
    // Port 9 (discard) refuses connections here.
    let mut submit = otp_extension("submit", "http://127.0.0.1:9/submit", &client_id, false);
    submit.event = ExtensionEvent::AttributeCollectionSubmit;
    portico.create_extension(&tenant, submit).await.unwrap();
    let (status, failed) =
        sign_up_through_code(&server, dir.path(), &client_id, "ann@example.com", &[]).await;
    assert_error(status, &failed, "invalid_request", 1_003_027);
    assert!(
        portico
            .store
            .find_user_by_email(server.tenant.id, "ann@example.com")
            .await
            .unwrap()
            .is_none(),
        "no account the company could not check"
    );

    // A legacy password and an extension that cannot be reached: no sign-in, no migration.
    let password_app = native_app(&server).await;
    portico
        .create_user(
            &tenant,
            portico_core::directory::NewUser {
                email: "old@example.com".into(),
                password: None,
                display_name: None,
                legacy_password: true,
            },
        )
        .await
        .unwrap();
    let mut legacy = otp_extension(
        "legacy",
        "http://127.0.0.1:9/password",
        &password_app,
        false,
    );
    legacy.event = ExtensionEvent::PasswordSubmit;
    legacy.encryption_key = Some(test_public_key());
    portico.create_extension(&tenant, legacy).await.unwrap();
    // Twice: the call failed, not the password, so the same one is tried again rather than
    // refused as a known wrong password.
    for _ in 0..2 {
        let (status, failed) = password_sign_in(
            &server,
            &password_app,
            "old@example.com",
            "anything-at-all",
            "",
        )
        .await;
        assert_error(status, &failed, "invalid_request", 1_003_027);
    }
    let user = portico
        .store
        .find_user_by_email(server.tenant.id, "old@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(user.password_in_legacy_store && user.password_hash.is_none());
    server.stop().await;
}

/// An RSA public key (PEM) for extensions whose receiver the test never reaches.
fn test_public_key() -> String {
    use aws_lc_rs::encoding::AsDer;
    use base64::Engine as _;
    let private =
        aws_lc_rs::rsa::PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let spki = private.public_key().as_der().unwrap();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(spki.as_ref())
    )
}
