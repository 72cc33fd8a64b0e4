//! Passkey sign-in on the hosted pages, driven the way the page's script does it: the page
//! carries the WebAuthn options and the ceremony's id, the authenticator answers, and the
//! answer goes back in the form. The attacks: a replayed answer, one captured from another
//! sign-in, another origin, an authenticator that skips user verification, and a cloned one.

use portico_core::directory::{AppKind, MfaMethod, MfaPolicy, SignInMethod, UserFlowConfig};

use crate::harness::{TestServer, browser, web_app_tokens};
use crate::page::flow_for;
use crate::passkeys::{
    PasskeyPage, SoftKey, after_password, enrol, localhost_origin, localhost_relying_party,
    passkey_server, sign_in_page,
};

type Page = PasskeyPage;

async fn open(server: &TestServer, client: &reqwest::Client, app: &str) -> Page {
    let html = sign_in_page(server, client, app).await;
    assert!(
        html.contains("autocomplete=\"username webauthn\""),
        "the address field offers passkeys in its autofill"
    );
    PasskeyPage::read(&html)
}

async fn submit(
    server: &TestServer,
    client: &reqwest::Client,
    page: &Page,
    response: &str,
) -> reqwest::Response {
    let mut form = page.form.clone();
    form.push(("action".into(), "passkey".into()));
    form.push(("passkey_response".into(), response.into()));
    client
        .post(format!("{}/{}/signin", server.base, server.tenant.name))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn passkey_app(server: &TestServer, mfa: MfaPolicy) -> (String, String) {
    let (app, secret) = server.app(AppKind::Web).await;
    flow_for(
        server,
        &app,
        UserFlowConfig {
            methods: vec![SignInMethod::Password, SignInMethod::Passkey],
            mfa,
            ..UserFlowConfig::default()
        },
    )
    .await;
    (app, secret.unwrap())
}

#[tokio::test]
async fn a_discoverable_passkey_signs_in_without_an_address_and_counts_as_two_factors() {
    let server = TestServer::start().await;
    localhost_relying_party(&server, |_| {}).await;
    server.user("alice@example.com").await;
    let (app, secret) = passkey_app(&server, MfaPolicy::Required).await;
    let mut key = SoftKey::new(&localhost_origin(&server), true, false);
    enrol(&server, &mut key, "alice@example.com").await;

    let client = browser();
    let page = open(&server, &client, &app).await;
    assert!(
        page.public_key
            .get("allowCredentials")
            .is_none_or(|c| c.as_array().is_some_and(Vec::is_empty)),
        "the page names no account's keys: {}",
        page.public_key
    );
    let answer = key.sign_in(&page.public_key).await.unwrap();
    let signed_in = submit(&server, &client, &page, &answer).await;
    assert_eq!(
        signed_in.status(),
        303,
        "{}",
        signed_in.text().await.unwrap()
    );
    let location = signed_in.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&server.redirect_uri()), "{location}");
    // MFA is required, and the verified passkey passed it: no second-factor step.
    let (id, _) = web_app_tokens(&server, &app, &secret, &location).await;
    let amr: Vec<&str> = id["amr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(amr.contains(&"mfa"), "{amr:?}");
    assert!(amr.contains(&"hwk") || amr.contains(&"swk"), "{amr:?}");
    assert!(!amr.contains(&"pwd"), "{amr:?}");
    let user = server
        .portico()
        .store
        .find_user_by_email(server.tenant.id, "alice@example.com")
        .await
        .unwrap()
        .unwrap();
    let stored = server
        .portico()
        .passkeys(&server.tenant, &user)
        .await
        .unwrap();
    assert!(stored[0].last_used_at.is_some(), "the use is recorded");
    server.stop().await;
}

#[tokio::test]
async fn replayed_foreign_and_misdirected_passkey_answers_are_refused() {
    let server = TestServer::start().await;
    localhost_relying_party(&server, |_| {}).await;
    server.user("alice@example.com").await;
    let (app, _) = passkey_app(&server, MfaPolicy::Off).await;
    let mut key = SoftKey::new(&localhost_origin(&server), true, false);
    enrol(&server, &mut key, "alice@example.com").await;

    // Replay: an answer that signed in once does not sign in again.
    let client = browser();
    let page = open(&server, &client, &app).await;
    let answer = key.sign_in(&page.public_key).await.unwrap();
    assert_eq!(submit(&server, &client, &page, &answer).await.status(), 303);
    let again = browser();
    let other = open(&server, &again, &app).await;
    let replayed = submit(&server, &again, &other, &answer).await;
    assert_eq!(replayed.status(), 400);
    assert!(
        replayed
            .text()
            .await
            .unwrap()
            .contains("could not be verified")
    );

    // Another sign-in's answer: captured from flow A, sent with flow B's ceremony id.
    let victim = browser();
    let captured_page = open(&server, &victim, &app).await;
    let captured = key.sign_in(&captured_page.public_key).await.unwrap();
    let attacker = browser();
    let mut attacker_page = open(&server, &attacker, &app).await;
    for (name, value) in attacker_page.form.iter_mut() {
        if name == "passkey_challenge" {
            *value = captured_page
                .form
                .iter()
                .find(|(n, _)| n == "passkey_challenge")
                .unwrap()
                .1
                .clone();
        }
    }
    let stolen = submit(&server, &attacker, &attacker_page, &captured).await;
    assert_eq!(stolen.status(), 400, "a ceremony is its own flow's");
    // The attempt spent the ceremony (single use): the victim's page asks again.
    let victim_again = submit(&server, &victim, &captured_page, &captured).await;
    assert_eq!(victim_again.status(), 400);

    // A phishing page on another origin relays the options: the answer names that origin.
    let client = browser();
    let page = open(&server, &client, &app).await;
    let mut relayed = key.clone_to("http://localhost:1", true);
    // `localhost` covers any port, so the client answers; Portico refuses the origin.
    let answer = relayed.sign_in(&page.public_key).await.unwrap();
    let refused = submit(&server, &client, &page, &answer).await;
    assert_eq!(refused.status(), 400);
    server.stop().await;
}

#[tokio::test]
async fn an_authenticator_that_skips_user_verification_is_refused_when_the_tenant_requires_it() {
    let server = TestServer::start().await;
    localhost_relying_party(&server, |_| {}).await;
    server.user("alice@example.com").await;
    let (app, _) = passkey_app(&server, MfaPolicy::Off).await;
    let mut key = SoftKey::new(&localhost_origin(&server), true, false);
    enrol(&server, &mut key, "alice@example.com").await;
    // The same key, whose holder skips the PIN.
    let mut lazy = key.clone_to(&localhost_origin(&server), false);
    let client = browser();
    let page = open(&server, &client, &app).await;
    // The attacker's client asks the authenticator for no verification, whatever the page said.
    let mut options = page.public_key.clone();
    options["userVerification"] = "discouraged".into();
    let answer = lazy.sign_in(&options).await.unwrap();
    let refused = submit(&server, &client, &page, &answer).await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("could not be verified")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_cloned_authenticator_whose_counter_goes_backwards_is_refused_or_logged_per_tenant() {
    let server = TestServer::start().await;
    localhost_relying_party(&server, |_| {}).await;
    server.user("alice@example.com").await;
    let (app, _) = passkey_app(&server, MfaPolicy::Off).await;
    let origin = localhost_origin(&server);
    let mut key = SoftKey::new(&origin, true, true);
    enrol(&server, &mut key, "alice@example.com").await;
    let mut clone = key.clone_to(&origin, true);
    // The original signs in twice; the clone, behind, then signs with an older count.
    for _ in 0..2 {
        let client = browser();
        let page = open(&server, &client, &app).await;
        let answer = key.sign_in(&page.public_key).await.unwrap();
        assert_eq!(submit(&server, &client, &page, &answer).await.status(), 303);
    }
    let client = browser();
    let page = open(&server, &client, &app).await;
    let answer = clone.sign_in(&page.public_key).await.unwrap();
    let refused = submit(&server, &client, &page, &answer).await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("could not be verified")
    );

    // A tenant that only logs it (a fleet of keys that count oddly, say) lets the clone in.
    localhost_relying_party(&server, |policy| {
        policy.counter_regression = portico_core::passkeys::CounterRegression::Log;
    })
    .await;
    let client = browser();
    let page = open(&server, &client, &app).await;
    let answer = clone.sign_in(&page.public_key).await.unwrap();
    assert_eq!(submit(&server, &client, &page, &answer).await.status(), 303);
    server.stop().await;
}

/// The second-factor page after alice's password, in a flow that takes passkeys as the
/// second factor.
async fn second_factor_page(server: &TestServer, client: &reqwest::Client, app: &str) -> Page {
    let answered = after_password(server, client, app, "alice@example.com").await;
    assert_eq!(answered.status(), 200);
    let html = answered.text().await.unwrap();
    assert!(html.contains("id=\"passkey-prompt\""), "{html}");
    PasskeyPage::read(&html)
}

#[tokio::test]
async fn a_passkey_is_the_second_factor_after_a_password_and_only_the_accounts_own() {
    let (server, app, secret) = passkey_server(
        &["alice@example.com", "bob@example.com"],
        UserFlowConfig {
            methods: vec![SignInMethod::Password],
            mfa: MfaPolicy::Required,
            mfa_methods: vec![MfaMethod::Totp, MfaMethod::Passkey],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let origin = localhost_origin(&server);
    let mut alices = SoftKey::new(&origin, true, false);
    enrol(&server, &mut alices, "alice@example.com").await;
    let mut bobs = SoftKey::new(&origin, true, false);
    enrol(&server, &mut bobs, "bob@example.com").await;

    // Bob's passkey does not pass alice's second factor.
    let client = browser();
    let page = second_factor_page(&server, &client, &app).await;
    let answer = bobs.sign_in(&page.public_key).await.unwrap();
    let refused = submit(&server, &client, &page, &answer).await;
    assert_eq!(refused.status(), 400);

    // Hers does.
    let client = browser();
    let page = second_factor_page(&server, &client, &app).await;
    let answer = alices.sign_in(&page.public_key).await.unwrap();
    let passed = submit(&server, &client, &page, &answer).await;
    assert_eq!(passed.status(), 303, "{}", passed.text().await.unwrap());
    let location = passed.headers()["location"].to_str().unwrap().to_owned();
    let (id, _) = web_app_tokens(&server, &app, &secret, &location).await;
    let amr: Vec<&str> = id["amr"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    assert!(amr.contains(&"pwd") && amr.contains(&"mfa"), "{amr:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_user_without_a_second_factor_registers_a_passkey_just_in_time() {
    let (server, app, secret) = passkey_server(
        &["alice@example.com"],
        UserFlowConfig {
            methods: vec![SignInMethod::Password],
            mfa: MfaPolicy::Required,
            mfa_methods: vec![MfaMethod::Passkey],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let origin = localhost_origin(&server);

    // An answer made for another sign-in's ceremony is refused here.
    let other = browser();
    let elsewhere = after_password(&server, &other, &app, "alice@example.com").await;
    let elsewhere = PasskeyPage::read(&elsewhere.text().await.unwrap());
    let mut stray = SoftKey::new(&origin, true, false);
    let stray_answer = stray.register(&elsewhere.public_key).await.unwrap();

    let client = browser();
    let page = after_password(&server, &client, &app, "alice@example.com").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"enrol-passkey-prompt\""), "{html}");
    let enrol = PasskeyPage::read(&html);
    let post = |answer: String| {
        let mut form = enrol.form.clone();
        form.extend([
            ("action".to_owned(), "passkey_made".to_owned()),
            ("passkey_response".to_owned(), answer),
        ]);
        client
            .post(format!("{}/{}/signin", server.base, server.tenant.name))
            .form(&form)
            .send()
    };
    let refused = post(stray_answer).await.unwrap();
    assert_eq!(refused.status(), 400);

    // A fresh sign-in (the refused answer spent that page's ceremony).
    let client = browser();
    let html = after_password(&server, &client, &app, "alice@example.com")
        .await
        .text()
        .await
        .unwrap();
    let enrol = PasskeyPage::read(&html);
    let mut key = SoftKey::new(&origin, true, false);
    let answer = key.register(&enrol.public_key).await.unwrap();
    let mut form = enrol.form.clone();
    form.extend([
        ("action".to_owned(), "passkey_made".to_owned()),
        ("passkey_response".to_owned(), answer),
    ]);
    let made = client
        .post(format!("{}/{}/signin", server.base, server.tenant.name))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        made.status(),
        303,
        "{}",
        made.text().await.unwrap_or_default()
    );
    let location = made.headers()["location"].to_str().unwrap().to_owned();
    let (id, _) = web_app_tokens(&server, &app, &secret, &location).await;
    assert!(
        id["amr"].as_array().unwrap().contains(&"mfa".into()),
        "{id}"
    );

    // From now on the passkey is her second factor: the next sign-in asks for it.
    let next = after_password(&server, &browser(), &app, "alice@example.com").await;
    assert!(next.text().await.unwrap().contains("id=\"passkey-prompt\""));
    server.stop().await;
}
