//! The security page, `/{tenant}/account/security`, from the browser's SSO session: add a
//! passkey (the page's ceremony, answered by the software authenticator), rename it, remove
//! it. The attacks: a forged form (no anti-forgery token), no session, another session's
//! ceremony, another account's passkey, and removing the only way a person signs in.

use portico_core::directory::{AppKind, NewUser, SignInMethod, TenantRef, UserFlowConfig};

use crate::harness::{TestServer, authorize_and_sign_in, browser, hidden_inputs, html_unescape};
use crate::page::flow_for;
use crate::passkeys::{
    PasskeyPage, SoftKey, after_password, enrol, localhost_origin, localhost_relying_party,
    passkey_server,
};

fn page_url(server: &TestServer) -> String {
    format!("{}/{}/account/security", server.base, server.tenant.id)
}

/// A browser signed in (SSO session) as `email`, by password through the pages.
async fn signed_in(server: &TestServer, email: &str) -> reqwest::Client {
    let (web, _) = server.app(AppKind::Web).await;
    let client = browser();
    let redirect = server.redirect_uri();
    let query = [
        ("client_id", web.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("response_type", "code"),
        ("scope", "openid"),
    ];
    authorize_and_sign_in(server, &client, &query, email).await;
    client
}

async fn page(client: &reqwest::Client, server: &TestServer) -> (u16, String) {
    let response = client.get(page_url(server)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn post(
    client: &reqwest::Client,
    server: &TestServer,
    html: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    // The first form's token (every form on the page carries the same one).
    let token = hidden_inputs(html)
        .into_iter()
        .find(|(name, _)| name == "csrf_token")
        .map(|(_, value)| value)
        .unwrap_or_default();
    let mut form = vec![("csrf_token".to_owned(), token)];
    form.extend(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let response = client
        .post(page_url(server))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The registration options and ceremony id on a page after `add`.
fn ceremony(html: &str) -> (serde_json::Value, String) {
    let page = PasskeyPage::read(html);
    let challenge = page.field("passkey_challenge");
    (page.public_key, challenge)
}

#[tokio::test]
async fn a_signed_in_person_adds_renames_and_removes_a_passkey() {
    let server = TestServer::start().await;
    localhost_relying_party(&server, |_| {}).await;
    server.user("alice@example.com").await;
    let client = signed_in(&server, "alice@example.com").await;
    let (status, html) = page(&client, &server).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"no-passkeys\""));

    let (status, html) = post(&client, &server, &html, &[("action", "add")]).await;
    assert_eq!(status, 200);
    let (options, challenge) = ceremony(&html);
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    let user_handle = options["user"]["id"].as_str().unwrap().to_owned();
    let mut key = SoftKey::new(&localhost_origin(&server), true, false);
    let answer = key.register(&options).await.unwrap();
    let (status, html) = post(
        &client,
        &server,
        &html,
        &[
            ("action", "register"),
            ("passkey_challenge", &challenge),
            ("passkey_response", &answer),
            ("name", "Work laptop"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("id=\"notice\""));
    assert!(html.contains("value=\"Work laptop\""));
    // The user handle is random, not the object id or the address.
    let user = server
        .portico()
        .store
        .find_user_by_email(server.tenant.id, "alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!user_handle.contains(&user.id.to_string()));
    let credential = server
        .portico()
        .passkeys(&server.tenant, &user)
        .await
        .unwrap()[0]
        .credential_id
        .clone();

    let (status, html) = post(
        &client,
        &server,
        &html,
        &[
            ("action", "rename"),
            ("credential_id", &credential),
            ("name", "Phone"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"Phone\""));
    // Alice has a password and the flow takes it: her only passkey may go.
    let (status, html) = post(
        &client,
        &server,
        &html,
        &[("action", "remove"), ("credential_id", &credential)],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("id=\"no-passkeys\""));
    server.stop().await;
}

#[tokio::test]
async fn forged_sessionless_foreign_and_stranding_changes_are_refused() {
    let server = TestServer::start().await;
    localhost_relying_party(&server, |_| {}).await;
    server.user("alice@example.com").await;
    server.user("bob@example.com").await;

    // No session: nothing to see or change.
    let anonymous = browser();
    let (status, html) = page(&anonymous, &server).await;
    assert_eq!(status, 401);
    assert!(html.contains("id=\"security-signed-out\""));

    let alice = signed_in(&server, "alice@example.com").await;
    let (_, html) = page(&alice, &server).await;
    // A form from another site has no token.
    let forged = alice
        .post(page_url(&server))
        .form(&[("action", "add")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    // A ceremony alice's session started cannot be finished from bob's.
    let (_, started) = post(&alice, &server, &html, &[("action", "add")]).await;
    let (options, challenge) = ceremony(&started);
    let mut key = SoftKey::new(&localhost_origin(&server), true, false);
    let answer = key.register(&options).await.unwrap();
    let bob = signed_in(&server, "bob@example.com").await;
    let (_, bobs_page) = page(&bob, &server).await;
    let (status, html) = post(
        &bob,
        &server,
        &bobs_page,
        &[
            ("action", "register"),
            ("passkey_challenge", &challenge),
            ("passkey_response", &answer),
        ],
    )
    .await;
    assert_eq!(status, 400, "{html}");

    // Bob cannot rename or remove alice's passkey.
    let mut alices_key = SoftKey::new(&localhost_origin(&server), true, false);
    let credential = enrol(&server, &mut alices_key, "alice@example.com").await;
    for action in ["rename", "remove"] {
        let (status, _) = post(
            &bob,
            &server,
            &bobs_page,
            &[
                ("action", action),
                ("credential_id", &credential),
                ("name", "mine"),
            ],
        )
        .await;
        assert_eq!(status, 400, "{action}");
    }

    // Where a flow of the tenant requires a second factor, a session that passed none (alice
    // signed in to an app without MFA) cannot make a passkey, which would be two factors.
    let (strict, _) = server.app(AppKind::Web).await;
    flow_for(
        &server,
        &strict,
        UserFlowConfig {
            methods: vec![SignInMethod::Password],
            mfa: portico_core::directory::MfaPolicy::Required,
            ..UserFlowConfig::default()
        },
    )
    .await;
    let (_, html) = page(&alice, &server).await;
    let (status, html) = post(&alice, &server, &html, &[("action", "add")]).await;
    assert_eq!(status, 403, "{html}");
    assert!(!html.contains("id=\"passkey-options\""));

    // Carol has no password and her app's flow takes only passkeys: her last one stays.
    server
        .portico()
        .create_user(
            &TenantRef::Id(server.tenant.id),
            NewUser {
                email: "carol@example.com".into(),
                password: None,
                display_name: None,
                legacy_password: false,
            },
        )
        .await
        .unwrap();
    let (app, _) = server.app(AppKind::Web).await;
    flow_for(
        &server,
        &app,
        UserFlowConfig {
            methods: vec![SignInMethod::Passkey],
            sign_up: false,
            ..UserFlowConfig::default()
        },
    )
    .await;
    let mut carols_key = SoftKey::new(&localhost_origin(&server), true, false);
    let credential = enrol(&server, &mut carols_key, "carol@example.com").await;
    let carol = server
        .portico()
        .store
        .find_user_by_email(server.tenant.id, "carol@example.com")
        .await
        .unwrap()
        .unwrap();
    let refused = server
        .portico()
        .remove_passkey(&server.tenant, &carol, &credential)
        .await
        .unwrap_err();
    assert!(html_unescape(&refused.to_string()).contains("only way to sign in"));
    assert_eq!(
        server
            .portico()
            .passkeys(&server.tenant, &carol)
            .await
            .unwrap()
            .len(),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn a_flow_offers_a_passkey_after_sign_in_which_is_made_or_declined_and_then_the_app() {
    let (server, app, secret) = passkey_server(
        &["alice@example.com", "bob@example.com"],
        UserFlowConfig {
            methods: vec![SignInMethod::Password, SignInMethod::Passkey],
            offer_passkey: true,
            ..UserFlowConfig::default()
        },
    )
    .await;
    let redirect = server.redirect_uri();

    // Alice takes it: the offer's ceremony, then on to the app with a code.
    let alice = browser();
    let offered = after_password(&server, &alice, &app, "alice@example.com").await;
    assert_eq!(offered.status(), 200);
    assert_form_may_reach_the_app(&offered, &server);
    let html = offered.text().await.unwrap();
    assert!(html.contains("id=\"passkey-offer\""), "{html}");
    let (options, challenge) = ceremony(&html);
    let flow = hidden_inputs(&html)
        .into_iter()
        .find(|(name, _)| name == "continue")
        .map(|(_, value)| value)
        .unwrap();
    let mut key = SoftKey::new(&localhost_origin(&server), true, false);
    let answer = key.register(&options).await.unwrap();
    let mut form = hidden_inputs(&html);
    form.retain(|(name, _)| name != "passkey_response");
    form.extend([
        ("action".to_owned(), "register".to_owned()),
        ("passkey_response".to_owned(), answer),
        ("name".to_owned(), "Laptop".to_owned()),
    ]);
    let made = alice
        .post(page_url(&server))
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
    assert!(location.starts_with(&redirect), "{location}");
    let (id, _) = crate::harness::web_app_tokens(&server, &app, &secret, &location).await;
    assert!(id["amr"].as_array().unwrap().contains(&"pwd".into()));
    assert!(!challenge.is_empty());
    // She has one now: her next sign-in goes straight to the app.
    let again = after_password(&server, &browser(), &app, "alice@example.com").await;
    assert_eq!(again.status(), 303);

    // Bob's authenticator answers with nonsense: the offer again, under a new id, its
    // form still allowed to end at the app; then he declines: on to the app all the same.
    let bob = browser();
    let offered = after_password(&server, &bob, &app, "bob@example.com").await;
    let html = offered.text().await.unwrap();
    let mut form = hidden_inputs(&html);
    form.retain(|(name, _)| name != "passkey_response");
    form.extend([
        ("action".to_owned(), "register".to_owned()),
        (
            "passkey_response".to_owned(),
            "{\"id\":\"nonsense\"}".to_owned(),
        ),
    ]);
    let refused = bob
        .post(page_url(&server))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_form_may_reach_the_app(&refused, &server);
    let refused_html = refused.text().await.unwrap();
    assert!(
        refused_html.contains("id=\"passkey-offer\""),
        "{refused_html}"
    );
    let continue_of = |html: &str| {
        hidden_inputs(html)
            .into_iter()
            .find(|(name, _)| name == "continue")
            .map(|(_, value)| value)
    };
    assert_ne!(continue_of(&refused_html), continue_of(&html));
    let html = refused_html;
    let bobs_flow = hidden_inputs(&html)
        .into_iter()
        .find(|(name, _)| name == "continue")
        .map(|(_, value)| value)
        .unwrap();
    let skipped = bob
        .post(page_url(&server))
        .form(&[
            (
                "csrf_token",
                hidden_inputs(&html)
                    .into_iter()
                    .find(|(n, _)| n == "csrf_token")
                    .unwrap()
                    .1
                    .as_str(),
            ),
            ("action", "offer_skip"),
            ("continue", bobs_flow.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(skipped.status(), 303);
    assert!(
        skipped.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&redirect)
    );

    // Alice's parked request continued from bob's session: not his to continue.
    let (_, bobs_page) = page(&bob, &server).await;
    let (status, _) = post(
        &bob,
        &server,
        &bobs_page,
        &[("action", "offer_skip"), ("continue", flow.as_str())],
    )
    .await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn a_new_account_is_offered_a_passkey_right_after_sign_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::otp_delivery::server_with_outbox(dir.path(), |_| {}).await;
    localhost_relying_party(&server, |_| {}).await;
    let (app, _) = server.app(AppKind::Web).await;
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
    let client = browser();
    let page = crate::page::authorize(&server, &client, &app, &[("prompt", "create")]).await;
    let page = page
        .submit(
            &client,
            &[("action", "identify"), ("email", "new@example.com")],
        )
        .await;
    let code = crate::page::mail_code(dir.path()).await;
    let page = page
        .submit(&client, &[("action", "verify"), ("code", &code)])
        .await;
    let password = "a fine passphrase 1";
    let page = page
        .submit(
            &client,
            &[
                ("action", "new_password"),
                ("new_password", password),
                ("confirm_password", password),
            ],
        )
        .await;
    assert!(page.html.contains("id=\"passkey-offer\""), "{}", page.html);
    let offer = PasskeyPage::read(&page.html);
    let mut key = SoftKey::new(&localhost_origin(&server), true, false);
    let answer = key.register(&offer.public_key).await.unwrap();
    let mut form = offer.form.clone();
    form.extend([
        ("action".to_owned(), "register".to_owned()),
        ("passkey_response".to_owned(), answer),
    ]);
    let made = client
        .post(page_url(&server))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 303);
    let user = server
        .portico()
        .store
        .find_user_by_email(server.tenant.id, "new@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        server
            .portico()
            .passkeys(&server.tenant, &user)
            .await
            .unwrap()
            .len(),
        1,
        "the new account has its passkey"
    );
    server.stop().await;
}

/// The offer's form ends in a redirect to the app, so its CSP `form-action` names the app's
/// origin (browsers apply it to the redirect too: without it, the sign-in stops here).
fn assert_form_may_reach_the_app(page: &reqwest::Response, server: &TestServer) {
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    let form_action = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("form-action"))
        .unwrap_or_default();
    assert!(form_action.contains(&server.app_origin), "{csp}");
}

/// Answering the passkey offer after a sign-in wrongly, on purpose, shows the offer again and
/// parks the app's request again; it must still end when it first would have, five minutes
/// after the sign-in, not five minutes after each refusal.
#[tokio::test]
async fn refused_offer_answers_cannot_keep_a_parked_request_alive() {
    let server = TestServer::start().await;
    let clock = portico_core::clock::ManualClock::new(server.portico().now());
    let portico = server.portico_at(&clock);
    let params = portico_core::oauth::AuthorizeParams {
        client_id: Some("an-app".into()),
        state: Some("its-state".into()),
        ..Default::default()
    };
    let tenant = &server.tenant;
    let binding = "the-session";
    let mut id = portico
        .park_authorize_request(tenant, binding, &params)
        .await
        .unwrap();
    for _ in 0..4 {
        clock.advance(60);
        let parked = portico
            .resume_authorize_request(tenant, binding, &id)
            .await
            .unwrap()
            .expect("still within the first five minutes");
        assert_eq!(parked.params, params);
        id = portico
            .repark_authorize_request(tenant, binding, &parked)
            .await
            .unwrap();
    }
    clock.advance(portico_core::passkeys::CHALLENGE_LIFETIME_SECS - 4 * 60);
    let gone = portico
        .resume_authorize_request(tenant, binding, &id)
        .await
        .unwrap();
    assert_eq!(gone, None);
    // Parked for another session, it is not there for this one either.
    let other = portico
        .park_authorize_request(tenant, "another-session", &params)
        .await
        .unwrap();
    assert_eq!(
        portico
            .resume_authorize_request(tenant, binding, &other)
            .await
            .unwrap(),
        None
    );
    server.stop().await;
}
