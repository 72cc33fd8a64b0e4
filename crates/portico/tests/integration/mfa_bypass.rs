//! The ways around a second factor that someone with one factor would try, on the hosted pages
//! and the native API: an SSO session made at an app without MFA, registering a factor of
//! their own, and a password reset with the mailbox alone. Each is refused.

use portico_core::directory::{AppKind, MfaMethod, MfaPolicy, UserFlowConfig};
use portico_core::ids::{AuthMethodId, UserId};
use portico_core::store::AuthMethodRecord;

use crate::harness::{TestServer, browser, web_app_tokens};
use crate::otp_delivery::{code_in, next_file, server_with_outbox};
use crate::page::{authorize, flow_for, mail_code, sign_in_with_password};

/// Registers a second factor for `user` directly in the store, as if two days ago (a
/// long-standing factor).
pub(crate) async fn add_factor(
    server: &TestServer,
    user: UserId,
    kind: MfaMethod,
    target: Option<&str>,
) {
    let registered = server.portico().now() - 2 * 24 * 3600;
    add_factor_at(server, user, kind, target, registered).await;
}

/// Registers a second factor for `user` directly in the store at `created_at`.
pub(crate) async fn add_factor_at(
    server: &TestServer,
    user: UserId,
    kind: MfaMethod,
    target: Option<&str>,
    created_at: i64,
) {
    server
        .portico()
        .store
        .add_auth_method(
            &AuthMethodRecord {
                id: AuthMethodId::new_random(),
                tenant_id: server.tenant.id,
                user_id: user,
                kind,
                target: target.map(str::to_owned),
                sealed_secret: None,
                created_at,
            },
            &[],
        )
        .await
        .unwrap();
}

/// A server with alice, whose second factor is her own mailbox.
pub(crate) async fn alice_with_her_mailbox_as_factor(
    dir: &std::path::Path,
) -> (TestServer, portico_core::directory::User) {
    let server = server_with_outbox(dir, |_| {}).await;
    let alice = server.user("alice@example.com").await;
    add_factor(
        &server,
        alice.id,
        MfaMethod::EmailOtp,
        Some("alice@example.com"),
    )
    .await;
    (server, alice)
}

/// `email` signs in at `client_id` (whose flow requires an authenticator app) in a browser of
/// their own and registers one. Returns its secret and the recovery codes shown.
pub(crate) async fn register_authenticator(
    server: &TestServer,
    client_id: &str,
    email: &str,
) -> (String, Vec<String>) {
    let browser = browser();
    let page = sign_in_with_password(server, &browser, client_id, email).await;
    let secret = page.totp_secret();
    let code = crate::journeys::totp_now(&secret);
    let shown = page
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    let recovery = shown.recovery_codes();
    let done = shown.submit(&browser, &[("action", "acknowledge")]).await;
    assert!(done.signed_in(), "{}", done.html);
    (secret, recovery)
}

pub(crate) fn mfa(methods: Vec<MfaMethod>) -> UserFlowConfig {
    UserFlowConfig {
        mfa: MfaPolicy::Required,
        mfa_methods: methods,
        ..UserFlowConfig::default()
    }
}

fn silent_code(page: &crate::page::Page) -> bool {
    page.status == 302
        && page
            .location
            .as_deref()
            .is_some_and(|l| l.contains("code="))
}

#[tokio::test]
async fn an_sso_session_from_an_app_without_mfa_steps_up_at_an_app_that_requires_it() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = alice_with_her_mailbox_as_factor(dir.path()).await;
    let (relaxed, _) = server.app(AppKind::Web).await;
    let (strict, strict_secret) = server.app(AppKind::Web).await;
    flow_for(&server, &strict, mfa(vec![MfaMethod::EmailOtp])).await;
    let browser = browser();
    let signed_in = sign_in_with_password(&server, &browser, &relaxed, "alice@example.com").await;
    assert!(signed_in.signed_in(), "{}", signed_in.html);

    // prompt=none cannot step up: the app hears interaction_required, not a code.
    let silent = authorize(&server, &browser, &strict, &[("prompt", "none")]).await;
    let location = silent.location.clone().unwrap_or_default();
    assert_eq!(silent.status, 302);
    assert!(
        location.contains("error=interaction_required"),
        "{location}"
    );
    assert!(!location.contains("code="), "{location}");

    // Without prompt: the page asks for the second factor, the password is not asked again.
    // The page came from a plain GET, which any site can send a browser to: it sends nothing
    // until the person asks.
    let page = authorize(&server, &browser, &strict, &[]).await;
    assert_eq!(page.status, 200);
    assert!(!silent_code(&page));
    assert!(page.html.contains("Send code"), "{}", page.html);
    assert!(!page.html.contains(r#"name="password""#));
    assert!(
        std::fs::read_dir(dir.path().join("mail"))
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "no code went out on the GET"
    );
    let page = page.submit(&browser, &[("action", "resend")]).await;
    assert!(page.html.contains(r#"name="code""#), "{}", page.html);
    let code = mail_code(dir.path()).await;
    let done = page
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert!(done.signed_in(), "{}", done.html);
    let (id_token, _) = web_app_tokens(
        &server,
        &strict,
        strict_secret.as_deref().unwrap(),
        done.location.as_deref().unwrap(),
    )
    .await;
    assert_eq!(id_token["amr"], serde_json::json!(["pwd", "mfa"]));

    // The session now carries the second factor: both apps sign in silently.
    assert!(silent_code(
        &authorize(&server, &browser, &strict, &[("prompt", "none")]).await
    ));
    assert!(silent_code(
        &authorize(&server, &browser, &relaxed, &[]).await
    ));
    server.stop().await;
}

/// A browser whose cookies the test can read and copy.
fn browser_with_jar() -> (reqwest::Client, std::sync::Arc<reqwest::cookie::Jar>) {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(std::sync::Arc::clone(&jar))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (client, jar)
}

#[tokio::test]
async fn a_session_that_passed_an_emailed_code_does_not_pass_an_app_that_insists_on_an_authenticator()
 {
    use reqwest::cookie::CookieStore as _;
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let alice = server.user("alice@example.com").await;
    let (mail_app, _) = server.app(AppKind::Web).await;
    let (totp_app, _) = server.app(AppKind::Web).await;
    flow_for(&server, &mail_app, mfa(vec![MfaMethod::EmailOtp])).await;
    flow_for(&server, &totp_app, mfa(vec![MfaMethod::Totp])).await;
    // Alice set up an authenticator app at the strict app; her mailbox is a factor too.
    let (_, recovery) = register_authenticator(&server, &totp_app, "alice@example.com").await;
    add_factor(
        &server,
        alice.id,
        MfaMethod::EmailOtp,
        Some("alice@example.com"),
    )
    .await;

    // In another browser she signs in at the app that takes an emailed code...
    let (browser, jar) = browser_with_jar();
    let page = sign_in_with_password(&server, &browser, &mail_app, "alice@example.com").await;
    let code = mail_code(dir.path()).await;
    let done = page
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert!(done.signed_in(), "{}", done.html);
    let portico = url::Url::parse(&server.base).unwrap();
    let before = jar.cookies(&portico).unwrap().to_str().unwrap().to_owned();

    // ...which does not stand in for the authenticator app the other app insists on.
    let silent = authorize(&server, &browser, &totp_app, &[("prompt", "none")]).await;
    assert!(
        silent
            .location
            .as_deref()
            .is_some_and(|l| l.contains("error=interaction_required")),
        "{:?}",
        silent.location
    );
    let page = authorize(&server, &browser, &totp_app, &[]).await;
    assert!(!silent_code(&page));
    assert_eq!(page.h1(), "Verify it's you", "{}", page.html);
    let done = page
        .submit(
            &browser,
            &[("action", "recovery"), ("recovery_code", &recovery[0])],
        )
        .await;
    assert!(done.signed_in(), "{}", done.html);

    // The stronger session has a new cookie: a copy of the old one signs nobody in.
    let after = jar.cookies(&portico).unwrap().to_str().unwrap().to_owned();
    assert_ne!(before, after);
    let (thief, stolen) = browser_with_jar();
    for pair in before.split("; ") {
        stolen.add_cookie_str(pair, &portico);
    }
    assert!(!silent_code(
        &authorize(&server, &thief, &mail_app, &[("prompt", "none")]).await
    ));
    // Her browser now passes both apps silently.
    assert!(silent_code(
        &authorize(&server, &browser, &totp_app, &[("prompt", "none")]).await
    ));
    assert!(silent_code(
        &authorize(&server, &browser, &mail_app, &[("prompt", "none")]).await
    ));
    server.stop().await;
}

#[tokio::test]
async fn a_step_up_cannot_finish_after_its_session_ended() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice) = alice_with_her_mailbox_as_factor(dir.path()).await;
    let (relaxed, _) = server.app(AppKind::Web).await;
    let (strict, _) = server.app(AppKind::Web).await;
    flow_for(&server, &strict, mfa(vec![MfaMethod::EmailOtp])).await;
    let browser = browser();
    sign_in_with_password(&server, &browser, &relaxed, "alice@example.com").await;
    let page = authorize(&server, &browser, &strict, &[])
        .await
        .submit(&browser, &[("action", "resend")])
        .await;
    let code = mail_code(dir.path()).await;
    // Signed out everywhere (an operator disables and enables the account) in between.
    server.sign_out_everywhere(alice.id).await;
    let done = page
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert!(!done.signed_in(), "{:?}", done.location);
    assert!(done.location.is_none_or(|l| !l.contains("code=")));
    server.stop().await;
}

#[tokio::test]
async fn a_sign_in_under_way_cannot_finish_after_a_new_password() {
    let dir = tempfile::tempdir().unwrap();
    // Two sign-ins a moment apart each get their own code.
    let server = server_with_outbox(dir.path(), |s| s.otp.resend_interval_secs = 0).await;
    let alice = server.user("alice@example.com").await;
    add_factor(
        &server,
        alice.id,
        MfaMethod::EmailOtp,
        Some("alice@example.com"),
    )
    .await;
    let (app, _) = server.app(AppKind::Web).await;
    flow_for(&server, &app, mfa(vec![MfaMethod::EmailOtp])).await;
    // Someone with alice's old password is at her second factor...
    let thief = browser();
    let page = sign_in_with_password(&server, &thief, &app, "alice@example.com").await;
    assert!(page.html.contains(r#"name="code""#), "{}", page.html);
    let code = mail_code(dir.path()).await;
    // ...when she sets a new password: the sign-in that proved the old one cannot finish.
    let hash = server
        .portico()
        .passwords
        .hash("her brand new passphrase".into())
        .await
        .unwrap();
    server
        .portico()
        .store
        .set_password(server.tenant.id, alice.id, &hash, 5, server.portico().now())
        .await
        .unwrap();
    let done = page
        .submit(&thief, &[("action", "verify"), ("code", &code)])
        .await;
    assert!(!done.signed_in(), "{:?} {}", done.location, done.html);
    assert!(done.location.is_none_or(|l| !l.contains("code=")));
    // A sign-in begun after the change finishes as usual.
    let owner = browser();
    let page = crate::page::authorize(&server, &owner, &app, &[])
        .await
        .submit(
            &owner,
            &[
                ("email", "alice@example.com"),
                ("password", "her brand new passphrase"),
            ],
        )
        .await;
    let code = mail_code(dir.path()).await;
    let done = page
        .submit(&owner, &[("action", "verify"), ("code", &code)])
        .await;
    assert!(done.signed_in(), "{}", done.html);
    server.stop().await;
}

#[tokio::test]
async fn a_mailbox_alone_cannot_register_a_phone_to_pass_mfa() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let alice = server.user("alice@example.com").await;
    // Alice's second factor is her mailbox; the flow would also take texts and apps.
    add_factor(
        &server,
        alice.id,
        MfaMethod::EmailOtp,
        Some("alice@example.com"),
    )
    .await;
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(
        &server,
        &client_id,
        mfa(vec![MfaMethod::EmailOtp, MfaMethod::Sms, MfaMethod::Totp]),
    )
    .await;
    let browser = browser();
    let page = authorize(&server, &browser, &client_id, &[])
        .await
        .submit(
            &browser,
            &[("action", "use_code"), ("email", "alice@example.com")],
        )
        .await;
    let code = mail_code(dir.path()).await;
    let refused = page
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(
        refused
            .html
            .contains("can't complete the extra verification")
    );
    assert!(!refused.html.contains(r#"name="phone""#));
    assert!(!refused.html.contains(r#"name="enrol""#));
    // Asking for the registration anyway changes nothing.
    for kind in ["sms", "totp"] {
        let forced = refused.submit(&browser, &[("enrol", kind)]).await;
        assert!(!forced.signed_in());
        assert!(!forced.html.contains(r#"name="phone""#), "{kind}");
        assert!(!forced.html.contains("totp-secret"), "{kind}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_mailbox_alone_cannot_reset_the_password_of_an_account_with_mfa() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let alice = server.user("alice@example.com").await;
    add_factor(&server, alice.id, MfaMethod::Sms, Some("+15550104477")).await;
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(&server, &client_id, mfa(vec![MfaMethod::Sms])).await;
    let browser = browser();
    let page = authorize(&server, &browser, &client_id, &[])
        .await
        .follow(&browser, "forgot-password")
        .await
        .submit(
            &browser,
            &[("action", "identify"), ("email", "alice@example.com")],
        )
        .await;
    let code = mail_code(dir.path()).await;
    let second = page
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    // The next step is the texted code, not a new password.
    assert_eq!(second.status, 200);
    assert!(second.html.contains(r#"name="code""#), "{}", second.html);
    assert!(!second.html.contains(r#"name="new_password""#));
    let early = second
        .submit(
            &browser,
            &[
                ("action", "new_password"),
                ("new_password", "taken over 12345"),
                ("confirm_password", "taken over 12345"),
            ],
        )
        .await;
    assert!(!early.signed_in());
    // Nothing changed: the stored password is the one from before the reset.
    let stored = server
        .portico()
        .store
        .find_user(server.tenant.id, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.password_hash, alice.password_hash);

    // With the second factor the reset goes on.
    let sms: serde_json::Value =
        serde_json::from_str(&next_file(&dir.path().join("sms"), "json").await).unwrap();
    let texted = code_in(sms["body"].as_str().unwrap());
    let new_password = second
        .reload(&browser)
        .await
        .submit(&browser, &[("action", "verify"), ("code", &texted)])
        .await;
    assert!(
        new_password.html.contains(r#"name="new_password""#),
        "{}",
        new_password.html
    );
    let done = new_password
        .submit(
            &browser,
            &[
                ("action", "new_password"),
                ("new_password", "a brand new passphrase"),
                ("confirm_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert!(done.signed_in(), "{}", done.html);
    let stored = server
        .portico()
        .store
        .find_user(server.tenant.id, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.password_hash, alice.password_hash);
    server.stop().await;
}

#[tokio::test]
async fn the_native_api_sends_unusable_factors_to_the_browser_not_to_registration() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = alice_with_her_mailbox_as_factor(dir.path()).await;
    let client_id = crate::native_auth::native_app(&server).await;
    flow_for(
        &server,
        &client_id,
        mfa(vec![MfaMethod::EmailOtp, MfaMethod::Sms]),
    )
    .await;
    // Email-code sign-in: the mailbox cannot serve again, and registering a phone with only
    // the mailbox is refused, even to a client that can register.
    let (_, started) = crate::native_auth::call(
        &server,
        "oauth2/v2.0/initiate",
        &[
            ("client_id", &client_id),
            ("username", "alice@example.com"),
            ("challenge_type", "oob redirect"),
            ("capabilities", "mfa_required registration_required"),
        ],
    )
    .await;
    let (_, asked) = crate::native_auth::call(
        &server,
        "oauth2/v2.0/challenge",
        &[
            ("client_id", &client_id),
            ("continuation_token", crate::native_auth::ct(&started)),
            ("challenge_type", "oob redirect"),
        ],
    )
    .await;
    let code = mail_code(dir.path()).await;
    let (status, body) = crate::native_auth::token(
        &server,
        &client_id,
        &[
            ("grant_type", "oob"),
            ("continuation_token", crate::native_auth::ct(&asked)),
            ("oob", &code),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["challenge_type"], "redirect", "{body}");
    assert!(body.get("access_token").is_none());
    assert!(body.get("continuation_token").is_none());
    server.stop().await;
}

#[tokio::test]
async fn a_registration_begun_without_a_factor_cannot_add_one_once_the_user_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let victim = server.user("late@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(&server, &client_id, mfa(vec![MfaMethod::Totp])).await;
    // Someone with only the password starts registering an authenticator of their own...
    let thief = browser();
    let page = sign_in_with_password(&server, &thief, &client_id, "late@example.com").await;
    assert_eq!(page.h1(), "Set up your authenticator app");
    let secret = page.totp_secret();
    // ...while the account's owner registers one elsewhere.
    add_factor(&server, victim.id, MfaMethod::Totp, None).await;
    let code = crate::journeys::totp_now(&secret);
    let refused = page
        .submit(&thief, &[("action", "verify"), ("code", &code)])
        .await;
    assert!(!refused.signed_in());
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(refused.recovery_codes().is_empty());
    let methods = server
        .portico()
        .store
        .auth_methods(server.tenant.id, victim.id)
        .await
        .unwrap();
    assert_eq!(methods.len(), 1, "only the owner's factor");
    server.stop().await;
}
