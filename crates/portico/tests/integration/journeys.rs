//! Customer journeys on the hosted pages, end to end against the real server: sign-up, email
//! code sign-in, password reset, MFA registration and sign-in, with codes read from the file
//! outbox; and their negative paths.

use portico_core::directory::{
    AppKind, AttributeSpec, MfaMethod, MfaPolicy, SignInMethod, UserFlowConfig,
};

use crate::harness::{PASSWORD, TestServer, browser, hidden_inputs};
use crate::otp_delivery::{code_in, next_file, server_with_outbox};
use crate::page::{Page, authorize, flow_for, mail_code, sign_in_with_password};

#[tokio::test]
async fn sign_up_with_password_and_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let (client_id, secret) = server
        .app_with_claims(AppKind::Web, &["loyaltyNumber", "displayName", "city"])
        .await;
    let mut loyalty = AttributeSpec::parse_cli("loyaltyNumber:int").unwrap();
    loyalty.label = Some("Loyalty number".into());
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            attributes: vec![
                AttributeSpec::parse_cli("displayName:required").unwrap(),
                loyalty,
            ],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let browser = browser();
    let page = authorize(&server, &browser, &client_id, &[("prompt", "create")]).await;
    assert_eq!(page.h1(), "Create account");
    let page = page
        .submit(
            &browser,
            &[("action", "identify"), ("email", "New.Person@Example.com")],
        )
        .await;
    assert_eq!(page.h1(), "Verify your email address");
    assert!(
        page.html.contains("n********n@e*****e.com"),
        "masked address"
    );
    assert!(page.html.contains(r#"autocomplete="one-time-code""#));
    let code = mail_code(dir.path()).await;
    let wrong = page
        .submit(&browser, &[("action", "verify"), ("code", "00000000")])
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.html.contains("That code is incorrect"));
    let page = wrong
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert_eq!(page.h1(), "Create a password");
    assert!(page.html.contains(r#"autocomplete="new-password""#));
    for (password, confirm, message) in [
        ("short", "short", "at least 8 characters"),
        ("password123", "password123", "too common"),
        ("a fine passphrase", "another", "don't match"),
    ] {
        let refused = page
            .submit(
                &browser,
                &[
                    ("action", "new_password"),
                    ("new_password", password),
                    ("confirm_password", confirm),
                ],
            )
            .await;
        assert_eq!(refused.status, 400, "{password}");
        assert!(
            refused.html.contains(message),
            "{password}: {}",
            refused.html
        );
    }
    let page = page
        .submit(
            &browser,
            &[
                ("action", "new_password"),
                ("new_password", "a fine passphrase"),
                ("confirm_password", "a fine passphrase"),
            ],
        )
        .await;
    assert_eq!(page.h1(), "Tell us about yourself");
    assert!(page.html.contains("Loyalty number"));
    let refused = page
        .submit(
            &browser,
            &[("action", "attributes"), ("attr:loyaltyNumber", "many")],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.html.contains("This field is required"));
    assert!(refused.html.contains("Enter a value of the right kind"));
    let done = refused
        .submit(
            &browser,
            &[
                ("action", "attributes"),
                ("attr:displayName", "New Person"),
                ("attr:loyaltyNumber", "42"),
            ],
        )
        .await;
    assert!(done.signed_in(), "{} {:?}", done.status, done.location);
    let user = server
        .portico()
        .store
        .find_user_by_email(server.tenant.id, "new.person@example.com")
        .await
        .unwrap()
        .expect("the account exists");
    assert_eq!(user.display_name.as_deref(), Some("New Person"));
    assert_eq!(user.attributes["loyaltyNumber"], 42);

    // The app asked for the attributes as optional claims; `amr` says how the user proved
    // who they are (an emailed code, then a password).
    let (id, access) = crate::harness::web_app_tokens(
        &server,
        &client_id,
        secret.as_deref().unwrap(),
        done.location.as_deref().unwrap(),
    )
    .await;
    for claims in [&id, &access] {
        assert_eq!(claims["loyaltyNumber"], 42);
        assert_eq!(
            claims["name"], "New Person",
            "displayName asked for: name without profile scope"
        );
        assert!(claims.get("city").is_none(), "no value, no claim");
        assert_eq!(claims["amr"], serde_json::json!(["otp", "pwd"]));
    }
    server.stop().await;
}

#[tokio::test]
async fn sign_up_of_a_taken_address_mails_its_owner_and_reveals_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server.user("taken@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    let browser = browser();
    let page = authorize(&server, &browser, &client_id, &[("prompt", "create")]).await;
    let taken = page
        .submit(
            &browser,
            &[("action", "identify"), ("email", "taken@example.com")],
        )
        .await;
    let fresh_browser = crate::harness::browser();
    let fresh = authorize(&server, &fresh_browser, &client_id, &[("prompt", "create")])
        .await
        .submit(
            &fresh_browser,
            &[("action", "identify"), ("email", "fresh@example.com")],
        )
        .await;
    assert_eq!(
        (taken.status, taken.h1()),
        (fresh.status, fresh.h1()),
        "same answer"
    );
    let mails = [
        next_file(&dir.path().join("mail"), "eml").await,
        next_file(&dir.path().join("mail"), "eml").await,
    ];
    let notice = mails
        .iter()
        .find(|m| m.contains("taken@example.com"))
        .unwrap();
    assert!(notice.contains("already have an account"), "{notice}");
    assert!(
        !notice.split("\n\n").skip(1).any(|part| part
            .split(|c: char| !c.is_ascii_digit())
            .any(|w| w.len() == 8)),
        "no code in the notice"
    );
    let guess = taken
        .submit(&browser, &[("action", "verify"), ("code", "12345678")])
        .await;
    assert!(guess.html.contains("That code is incorrect"));
    server.stop().await;
}

#[tokio::test]
async fn email_code_sign_in_and_its_limits() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |s| s.otp.resend_interval_secs = 0).await;
    server.user("coder@example.com").await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    let browser = browser();
    let page = authorize(&server, &browser, &client_id, &[]).await;
    let page = page
        .submit(
            &browser,
            &[("action", "use_code"), ("email", "coder@example.com")],
        )
        .await;
    assert_eq!(page.h1(), "Enter your sign-in code");
    let first = mail_code(dir.path()).await;
    // Five wrong tries use the code up; then even the right code is refused.
    let mut last = page
        .submit(&browser, &[("action", "verify"), ("code", "00000000")])
        .await;
    assert!(
        last.html.contains("You have 4 more tries."),
        "{}",
        last.html
    );
    for _ in 0..4 {
        last = last
            .submit(&browser, &[("action", "verify"), ("code", "00000000")])
            .await;
    }
    assert!(last.html.contains("can no longer be used"), "{}", last.html);
    let dead = last
        .submit(&browser, &[("action", "verify"), ("code", &first)])
        .await;
    assert!(dead.html.contains("can no longer be used"));
    // A new code works.
    let resent = dead.submit(&browser, &[("action", "resend")]).await;
    assert_eq!(resent.status, 200);
    let second = mail_code(dir.path()).await;
    let done = resent
        .submit(&browser, &[("action", "verify"), ("code", &second)])
        .await;
    assert!(done.signed_in(), "{}", done.html);
    let (id, _) = crate::harness::web_app_tokens(
        &server,
        &client_id,
        secret.as_deref().unwrap(),
        done.location.as_deref().unwrap(),
    )
    .await;
    assert_eq!(id["amr"], serde_json::json!(["otp"]));
    server.stop().await;
}

#[tokio::test]
async fn expired_codes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |s| s.otp.lifetime_secs = -1).await;
    server.user("late@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    let browser = browser();
    let page = authorize(&server, &browser, &client_id, &[])
        .await
        .submit(
            &browser,
            &[("action", "use_code"), ("email", "late@example.com")],
        )
        .await;
    let code = mail_code(dir.path()).await;
    let expired = page
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert!(
        expired.html.contains("That code has expired"),
        "{}",
        expired.html
    );
    server.stop().await;
}

#[tokio::test]
async fn password_reset_then_sign_in_with_the_new_password() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server.user("forgetful@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    // Signed in elsewhere before the reset (say, a lost phone).
    let elsewhere = crate::harness::browser();
    let stale = crate::harness::spa_tokens(&server, &elsewhere, "forgetful@example.com").await;
    let browser = browser();
    let start = authorize(&server, &browser, &client_id, &[]).await;
    let reset = start.follow(&browser, "forgot-password").await;
    assert_eq!(reset.h1(), "Reset your password");
    let page = reset
        .submit(
            &browser,
            &[("action", "identify"), ("email", "forgetful@example.com")],
        )
        .await;
    let code = mail_code(dir.path()).await;
    let page = page
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert_eq!(page.h1(), "Choose a new password");
    let reused = page
        .submit(
            &browser,
            &[
                ("action", "new_password"),
                ("new_password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
        )
        .await;
    assert!(
        reused.html.contains("You used that password recently"),
        "{}",
        reused.html
    );
    let done = reused
        .submit(
            &browser,
            &[
                ("action", "new_password"),
                ("new_password", "brand new passphrase"),
                ("confirm_password", "brand new passphrase"),
            ],
        )
        .await;
    assert!(done.signed_in());
    // The new password signed the other device out: its session and its refresh token end.
    let (status, _) = crate::harness::refresh(&server, &stale).await;
    assert_eq!(status, 400);
    let again = authorize(&server, &elsewhere, &client_id, &[]).await;
    assert_eq!(
        again.status, 200,
        "asked to sign in again, not signed in silently"
    );
    let other = crate::harness::browser();
    let old = sign_in_with_password(&server, &other, &client_id, "forgetful@example.com").await;
    assert_eq!(old.status, 401);
    let new = old
        .submit(&other, &[("password", "brand new passphrase")])
        .await;
    assert!(new.signed_in());
    server.stop().await;
}

pub(crate) fn totp_now(secret: &str) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now).to_string()
}

#[tokio::test]
async fn authenticator_app_registration_recovery_codes_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let careful = server.user("careful@example.com").await;
    let (client_id, secret_of_app) = server.app(AppKind::Web).await;
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            mfa: MfaPolicy::Required,
            mfa_methods: vec![MfaMethod::Totp],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let browser = browser();
    let page = sign_in_with_password(&server, &browser, &client_id, "careful@example.com").await;
    assert_eq!(page.h1(), "Set up your authenticator app");
    assert!(page.html.contains("<svg"), "QR code");
    let secret = page.totp_secret();
    let wrong = page
        .submit(&browser, &[("action", "verify"), ("code", "000000")])
        .await;
    assert!(wrong.html.contains("That code is incorrect"));
    let code = totp_now(&secret);
    let page = wrong
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert_eq!(page.h1(), "Save your recovery codes");
    let codes = page.recovery_codes();
    assert_eq!(codes.len(), 10);
    // They are stored keyed (an HMAC under a server key), not as a bare hash a leaked table
    // would give away: the plain SHA-256 of a code spends nothing.
    let bare = portico_core::secret::digest_secret(&codes[1].replace('-', ""));
    assert!(
        !server
            .portico()
            .store
            .use_recovery_code(server.tenant.id, careful.id, &bare, server.portico().now())
            .await
            .unwrap()
    );
    let done = page.submit(&browser, &[("action", "acknowledge")]).await;
    assert!(done.signed_in());
    let (_, access) = crate::harness::web_app_tokens(
        &server,
        &client_id,
        secret_of_app.as_deref().unwrap(),
        done.location.as_deref().unwrap(),
    )
    .await;
    assert_eq!(access["amr"], serde_json::json!(["pwd", "mfa"]));

    // Next sign-in asks for the app's code; the code just used does not work twice.
    let second = crate::harness::browser();
    let page = sign_in_with_password(&server, &second, &client_id, "careful@example.com").await;
    assert_eq!(page.h1(), "Verify it's you");
    let replay = page
        .submit(&second, &[("action", "verify"), ("code", &code)])
        .await;
    assert!(
        replay.html.contains("That code is incorrect"),
        "replayed TOTP: {} {:?}",
        replay.status,
        replay.location
    );
    let done = replay
        .submit(
            &second,
            &[
                ("action", "recovery"),
                ("recovery_code", &codes[0].to_uppercase()),
            ],
        )
        .await;
    assert!(done.signed_in(), "recovery code");
    // A recovery code works once.
    let third = crate::harness::browser();
    let page = sign_in_with_password(&server, &third, &client_id, "careful@example.com").await;
    let spent = page
        .submit(
            &third,
            &[("action", "recovery"), ("recovery_code", &codes[0])],
        )
        .await;
    assert!(spent.html.contains("That code is incorrect"));
    server.stop().await;
}

#[tokio::test]
async fn emailed_second_factor_with_a_choice_and_keep_me_signed_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server.user("chooser@example.com").await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            mfa: MfaPolicy::Required,
            mfa_methods: vec![MfaMethod::EmailOtp, MfaMethod::Totp],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let browser = browser();
    let page = authorize(&server, &browser, &client_id, &[])
        .await
        .submit(
            &browser,
            &[
                ("email", "chooser@example.com"),
                ("password", PASSWORD),
                ("kmsi", "1"),
            ],
        )
        .await;
    // Two kinds are offered; the person picks the mailbox they signed in with.
    assert_eq!(page.h1(), "Add a second verification method");
    assert!(page.html.contains(r#"value="totp""#) && page.html.contains(r#"value="email-otp""#));
    // Every choice reads as a whole sentence (nothing dangles where no phone is known yet).
    assert!(
        page.html.contains("Use an authenticator app</button>"),
        "{}",
        page.html
    );
    assert!(
        page.html
            .contains("Email codes to my address (c*****r@e*****e.com)</button>"),
        "{}",
        page.html
    );
    assert!(!page.html.contains(" to</button>"));
    let page = page.submit(&browser, &[("enrol", "email-otp")]).await;
    let code = mail_code(dir.path()).await;
    let page = page
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert_eq!(page.h1(), "Save your recovery codes");
    let response = browser
        .post(page.action())
        .form(&{
            let mut form = hidden_inputs(&page.html);
            form.push(("action".into(), "acknowledge".into()));
            form
        })
        .send()
        .await
        .unwrap();
    let persistent = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("portico_session_"))
        .expect("session cookie");
    assert!(
        persistent.contains("Max-Age="),
        "keep me signed in: {persistent}"
    );
    let done = Page::from(response).await;
    assert!(done.signed_in());
    let (_, access) = crate::harness::web_app_tokens(
        &server,
        &client_id,
        secret.as_deref().unwrap(),
        done.location.as_deref().unwrap(),
    )
    .await;
    assert_eq!(access["amr"], serde_json::json!(["pwd", "mfa"]));

    // The next sign-in mails a code as the second factor.
    let other = crate::harness::browser();
    let page = sign_in_with_password(&server, &other, &client_id, "chooser@example.com").await;
    assert_eq!(page.h1(), "Verify it's you");
    let code = mail_code(dir.path()).await;
    let done = page
        .submit(&other, &[("action", "verify"), ("code", &code)])
        .await;
    assert!(done.signed_in());
    server.stop().await;
}

#[tokio::test]
async fn sms_registration_verifies_the_phone() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server.user("mobile@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            methods: vec![SignInMethod::Password],
            mfa: MfaPolicy::Required,
            mfa_methods: vec![MfaMethod::Sms],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let browser = browser();
    let page = sign_in_with_password(&server, &browser, &client_id, "mobile@example.com").await;
    assert_eq!(page.h1(), "Add your phone number");
    let bad = page
        .submit(&browser, &[("action", "phone"), ("phone", "555 1234")])
        .await;
    assert!(bad.html.contains("international form"));
    let page = bad
        .submit(
            &browser,
            &[("action", "phone"), ("phone", "+1 (555) 010-4477")],
        )
        .await;
    assert_eq!(page.h1(), "Verify your contact details");
    assert!(page.html.contains("+*******4477"));
    let sms: serde_json::Value =
        serde_json::from_str(&next_file(&dir.path().join("sms"), "json").await).unwrap();
    assert_eq!(sms["to"], "+15550104477");
    let code = code_in(sms["body"].as_str().unwrap());
    let page = page
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert_eq!(page.h1(), "Save your recovery codes");
    assert!(
        page.submit(&browser, &[("action", "acknowledge")])
            .await
            .signed_in()
    );

    // The next sign-in texts a code to the registered phone.
    let second = crate::harness::browser();
    let page = sign_in_with_password(&server, &second, &client_id, "mobile@example.com").await;
    assert_eq!(page.h1(), "Verify it's you");
    let sms: serde_json::Value =
        serde_json::from_str(&next_file(&dir.path().join("sms"), "json").await).unwrap();
    let code = code_in(sms["body"].as_str().unwrap());
    assert!(
        page.submit(&second, &[("action", "verify"), ("code", &code)])
            .await
            .signed_in()
    );
    server.stop().await;
}

#[tokio::test]
async fn disabled_accounts_are_signed_out_and_told_so() {
    let server = TestServer::start().await;
    server.user("gone@example.com").await;
    let admin = server.portico().create_admin_token().await.unwrap();
    let browser = browser();
    let tokens = crate::harness::spa_tokens(&server, &browser, "gone@example.com").await;
    let set_enabled = |enabled: bool| {
        reqwest::Client::new()
            .patch(format!(
                "{}/admin/api/v1/tenants/{}/users/gone@example.com",
                server.base, server.tenant.name
            ))
            .bearer_auth(&admin)
            .json(&serde_json::json!({ "enabled": enabled }))
            .send()
    };

    // The operator disables the account: tokens' grants and the session end at once.
    let response = set_enabled(false).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["enabled"], false);
    assert_eq!(body["email"], "gone@example.com");
    assert_eq!(
        crate::harness::userinfo_status(&server, tokens.access()).await,
        401
    );
    let (status, body) = crate::harness::refresh(&server, &tokens).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // The browser is not signed in silently any more, and signing in says why it fails.
    let (web, _) = server.app(AppKind::Web).await;
    let page = sign_in_with_password(&server, &browser, &web, "gone@example.com").await;
    assert_eq!(page.status, 403);
    assert!(page.html.contains("Your account has been disabled"));

    // Enabled again, the same password works.
    assert_eq!(set_enabled(true).await.unwrap().status(), 200);
    let page = sign_in_with_password(&server, &browser, &web, "gone@example.com").await;
    assert!(page.signed_in());

    // Unknown users and bad bodies get problem documents.
    let missing = reqwest::Client::new()
        .patch(format!(
            "{}/admin/api/v1/tenants/{}/users/nobody@example.com",
            server.base, server.tenant.name
        ))
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "enabled": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let bad = reqwest::Client::new()
        .patch(format!(
            "{}/admin/api/v1/tenants/{}/users/gone@example.com",
            server.base, server.tenant.name
        ))
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "enabled": "no" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    server.stop().await;
}

#[tokio::test]
async fn stale_and_foreign_flows_are_refused_kindly() {
    let server = TestServer::start().await;
    let (client_id, _) = server.app(AppKind::Web).await;
    let browser = browser();
    let page = authorize(&server, &browser, &client_id, &[]).await;
    let flow = crate::harness::input_value(&page.html, "flow").unwrap();
    // Another browser cannot open this flow.
    let other = crate::harness::browser();
    let stolen = other
        .get(server.url(&format!("signin?flow={flow}")))
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 400);
    // A made-up flow id gets the same friendly page.
    let unknown = browser
        .get(server.url("signin?flow=00000000-0000-4000-8000-000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("Your sign-in page expired")
    );
    // An event for another step re-renders the current one.
    let out_of_order = page.submit(&browser, &[("action", "acknowledge")]).await;
    assert_eq!(out_of_order.status, 409);
    assert_eq!(out_of_order.h1(), "Sign in");
    server.stop().await;
}
