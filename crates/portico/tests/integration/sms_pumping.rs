//! SMS pumping (texts sent to numbers an attacker owns, paid for by the tenant) and the limits
//! that stop it: numbers per flow and per user, the share of new numbers, the tenant budget, the
//! countries a tenant texts.

use portico_core::directory::{AppKind, MfaMethod};

use crate::harness::browser;
use crate::mfa_bypass::{add_factor, add_factor_at, mfa};
use crate::otp_delivery::server_with_outbox;
use crate::page::{flow_for, sign_in_with_password};

/// Types `number` at the phone registration step and comes back to it ("use another number").
async fn text_a_number(
    page: crate::page::Page,
    browser: &reqwest::Client,
    number: &str,
) -> (crate::page::Page, crate::page::Page) {
    let sent = page
        .submit(browser, &[("action", "phone"), ("phone", number)])
        .await;
    let back = sent.submit(browser, &[("enrol", "sms")]).await;
    (sent, back)
}

#[tokio::test]
async fn sms_pumping_through_phone_registration_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server.user("pump@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(&server, &client_id, mfa(vec![MfaMethod::Sms])).await;
    let browser = browser();
    let mut page = sign_in_with_password(&server, &browser, &client_id, "pump@example.com").await;
    assert!(page.html.contains(r#"name="phone""#), "{}", page.html);
    // One flow texts three numbers at most...
    for n in 1..=3 {
        let (sent, back) = text_a_number(page, &browser, &format!("+1555010000{n}")).await;
        assert_eq!(sent.status, 200, "{}", sent.html);
        page = back;
    }
    let refused = page
        .submit(&browser, &[("action", "phone"), ("phone", "+15550100004")])
        .await;
    assert_eq!(refused.status, 429, "{}", refused.html);
    assert!(refused.html.contains("Too many phone numbers"));
    // ...and one user five new numbers a day, whatever the flows.
    let again = crate::harness::browser();
    let mut page = sign_in_with_password(&server, &again, &client_id, "pump@example.com").await;
    for n in 4..=5 {
        let (sent, back) = text_a_number(page, &again, &format!("+1555010000{n}")).await;
        assert_eq!(sent.status, 200, "{}", sent.html);
        page = back;
    }
    let refused = page
        .submit(&again, &[("action", "phone"), ("phone", "+15550100006")])
        .await;
    assert_eq!(refused.status, 429, "{}", refused.html);
    assert!(refused.html.contains("Too many phone numbers"));
    // A number given before still works.
    let reused = page
        .submit(&again, &[("action", "phone"), ("phone", "+15550100001")])
        .await;
    assert!(reused.html.contains(r#"name="code""#), "{}", reused.html);
    let texts = server
        .portico()
        .store
        .sms_sent_since(server.tenant.id, server.portico().now() - 3600)
        .await
        .unwrap();
    // Five numbers; the one given again reuses the code sent to it moments ago.
    assert_eq!(texts, 5);
    server.stop().await;
}

#[tokio::test]
async fn a_tenant_texts_no_more_than_its_hourly_budget_and_sign_ups_cannot_use_it_up() {
    let dir = tempfile::tempdir().unwrap();
    // Two texts an hour: registering numbers may take one, signing in the rest.
    let server = server_with_outbox(dir.path(), |s| s.sms_per_tenant_per_hour = 2).await;
    for who in ["first@example.com", "second@example.com"] {
        server.user(who).await;
    }
    for (who, number) in [
        ("regular@example.com", "+15550100008"),
        ("another@example.com", "+15550100009"),
    ] {
        let user = server.user(who).await;
        add_factor(&server, user.id, MfaMethod::Sms, Some(number)).await;
    }
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(&server, &client_id, mfa(vec![MfaMethod::Sms])).await;
    let one = browser();
    let first = sign_in_with_password(&server, &one, &client_id, "first@example.com").await;
    let other = browser();
    let second = sign_in_with_password(&server, &other, &client_id, "second@example.com").await;
    let sent = first
        .submit(&one, &[("action", "phone"), ("phone", "+15550100001")])
        .await;
    assert!(sent.html.contains(r#"name="code""#), "{}", sent.html);
    // Fresh accounts registering numbers (anyone can make one) stop at their half...
    let refused = second
        .submit(&other, &[("action", "phone"), ("phone", "+15550100002")])
        .await;
    assert_eq!(refused.status, 429, "{}", refused.html);
    assert!(refused.html.contains("Too many codes"), "{}", refused.html);
    // ...so a person signing in with their phone still gets a text...
    let regular = browser();
    let page = sign_in_with_password(&server, &regular, &client_id, "regular@example.com").await;
    assert!(page.html.contains(r#"name="code""#), "{}", page.html);
    // ...until the whole budget is spent.
    let late = browser();
    let page = sign_in_with_password(&server, &late, &client_id, "another@example.com").await;
    assert_eq!(page.status, 429, "{}", page.html);
    server.stop().await;
}

#[tokio::test]
async fn sms_pumping_through_sign_ins_to_freshly_registered_numbers_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    // Four texts an hour: numbers registered less than a day ago share two of them.
    let server = server_with_outbox(dir.path(), |s| s.sms_per_tenant_per_hour = 4).await;
    let now = server.portico().now();
    // Fresh accounts, each with a (premium-rate) number registered just now, that sign in
    // again and again to have a code texted...
    for n in 1..=3 {
        let user = server.user(&format!("pump{n}@example.com")).await;
        add_factor_at(
            &server,
            user.id,
            MfaMethod::Sms,
            Some(&format!("+1555010010{n}")),
            now,
        )
        .await;
    }
    let regular = server.user("regular@example.com").await;
    add_factor(&server, regular.id, MfaMethod::Sms, Some("+15550100200")).await;
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(&server, &client_id, mfa(vec![MfaMethod::Sms])).await;
    for n in 1..=2 {
        let pump = browser();
        let page =
            sign_in_with_password(&server, &pump, &client_id, &format!("pump{n}@example.com"))
                .await;
        assert!(page.html.contains(r#"name="code""#), "{}", page.html);
    }
    // ...stop at their share...
    let pump = browser();
    let page = sign_in_with_password(&server, &pump, &client_id, "pump3@example.com").await;
    assert_eq!(page.status, 429, "{}", page.html);
    assert!(page.html.contains("Too many codes"), "{}", page.html);
    // ...and a person with a long-standing number still gets a text.
    let person = browser();
    let page = sign_in_with_password(&server, &person, &client_id, "regular@example.com").await;
    assert!(page.html.contains(r#"name="code""#), "{}", page.html);
    server.stop().await;
}

#[tokio::test]
async fn numbers_in_countries_the_tenant_does_not_text_are_refused() {
    use portico_core::directory::{TenantRef, TenantSettings};
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server
        .portico()
        .set_tenant_settings(
            &TenantRef::Id(server.tenant.id),
            TenantSettings {
                sms_countries: vec!["+44".into()],
                ..TenantSettings::default()
            },
        )
        .await
        .unwrap();
    server.user("abroad@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(&server, &client_id, mfa(vec![MfaMethod::Sms])).await;
    let browser = browser();
    let page = sign_in_with_password(&server, &browser, &client_id, "abroad@example.com").await;
    // A premium-rate range abroad, say: refused before anything is texted.
    let refused = page
        .submit(&browser, &[("action", "phone"), ("phone", "+88216123456")])
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(
        refused
            .html
            .contains("We can't send text messages to numbers in that country"),
        "{}",
        refused.html
    );
    assert!(
        std::fs::read_dir(dir.path().join("sms"))
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "nothing texted"
    );
    let sent = refused
        .submit(&browser, &[("action", "phone"), ("phone", "+447700900123")])
        .await;
    assert!(sent.html.contains(r#"name="code""#), "{}", sent.html);
    server.stop().await;
}
