//! User consent: an app asks for delegated scopes of an API that no administrator granted
//! it; the user sees the consent step after signing in, and what they allow is remembered
//! for that app (and only that app) until an operator takes it back. The relying party is
//! the `openidconnect` crate on another origin; the browser keeps cookies like a real one.

use openidconnect::OAuth2TokenResponse;
use portico_core::directory::AppKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_access::Admin;
use crate::harness::{
    PASSWORD, TestServer, browser, hidden_inputs, location_params, oidc_http, param, submit_sign_in,
};
use crate::rp::{Client, auth_query, no_redirects, oidc_client, pairs, verified_claims};

/// A tenant with the Orders API (nothing granted) and a web client for it.
struct Setup {
    server: TestServer,
    admin: Admin,
    api: String,
    client_id: String,
    client: Client,
}

async fn setup() -> Setup {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let admin = Admin::new(&server).await;
    let (api, _) = server.app(AppKind::Web).await;
    admin.expose_orders(&api).await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    let client = oidc_client(&server, &client_id, &secret.unwrap()).await;
    Setup {
        server,
        admin,
        api,
        client_id,
        client,
    }
}

/// GETs an authorization request in `browser`.
async fn authorize(
    server: &TestServer,
    browser: &reqwest::Client,
    query: &[(String, String)],
) -> reqwest::Response {
    browser
        .get(server.url("oauth2/v2.0/authorize"))
        .query(query)
        .send()
        .await
        .unwrap()
}

/// Answers the consent page `html` (allow or cancel).
async fn answer(
    server: &TestServer,
    browser: &reqwest::Client,
    html: &str,
    allow: bool,
) -> reqwest::Response {
    let mut form = hidden_inputs(html);
    form.push((
        "action".into(),
        if allow { "consent" } else { "decline" }.into(),
    ));
    browser
        .post(format!("{}/{}/signin", server.base, server.tenant.name))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The scopes a consent page asks for.
fn asked(html: &str) -> Vec<String> {
    html.match_indices("data-scope=\"")
        .map(|(at, marker)| {
            let rest = &html[at + marker.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// Signs alice in through the pages for `scopes` in a fresh browser and stops at the page
/// that follows the password: the browser and that page.
async fn sign_in_to_consent(s: &Setup, scopes: &[&str]) -> (reqwest::Client, String) {
    let browser = browser();
    let (query, _) = auth_query(&s.client, scopes);
    let page = authorize(&s.server, &browser, &query).await;
    assert_eq!(page.status(), StatusCode::OK, "the sign-in page");
    let html = page.text().await.unwrap();
    let response = submit_sign_in(&s.server, &browser, &html, "alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK, "a page, not a redirect");
    (browser, response.text().await.unwrap())
}

#[tokio::test]
async fn a_scope_no_administrator_granted_is_consented_to_once_and_remembered() {
    let s = setup().await;
    let server = &s.server;
    let browser = browser();
    let scopes = ["api://orders/Orders.Read", "offline_access"];
    let (query, verifier) = auth_query(&s.client, &scopes);
    let page = authorize(server, &browser, &query).await;
    let html = page.text().await.unwrap();
    let consent = submit_sign_in(server, &browser, &html, "alice@example.com", PASSWORD).await;
    assert_eq!(consent.status(), StatusCode::OK);
    let html = consent.text().await.unwrap();
    assert_eq!(
        asked(&html),
        vec!["Orders.Read"],
        "only the API scope is asked"
    );
    assert!(html.contains("Read all orders"), "the API's own words");
    let done = answer(server, &browser, &html, true).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let redirect = location_params(&done);
    let code = param(&redirect, "code").expect("a code");
    let tokens = s
        .client
        .exchange_code(openidconnect::AuthorizationCode::new(code.to_owned()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&oidc_http(no_redirects()))
        .await
        .expect("code exchange");
    let access = verified_claims(server, tokens.access_token().secret()).await;
    assert_eq!(access["aud"], s.api.as_str());
    assert_eq!(access["scp"], "Orders.Read");

    // Remembered: the next request of the app, in the same browser, needs no page at all.
    let (query, _) = auth_query(&s.client, &["api://orders/Orders.Read"]);
    let again = authorize(server, &browser, &query).await;
    assert_eq!(again.status(), StatusCode::FOUND, "silent");
    assert!(param(&location_params(&again), "code").is_some());

    // A scope not consented yet: prompt=none hears consent_required; without it, the
    // consent page asks for just that scope (the session stands: no password).
    let (mut query, _) = auth_query(&s.client, &["api://orders/Orders.Write"]);
    query.push(("prompt".into(), "none".into()));
    let silent = authorize(server, &browser, &query).await;
    assert_eq!(silent.status(), StatusCode::FOUND);
    assert_eq!(
        param(&location_params(&silent), "error"),
        Some("consent_required")
    );
    let (query, _) = auth_query(
        &s.client,
        &["api://orders/Orders.Read", "api://orders/Orders.Write"],
    );
    let page = authorize(server, &browser, &query).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert_eq!(asked(&html), vec!["Orders.Write"]);
    assert!(!html.contains("name=\"password\""), "no second sign-in");

    // prompt=consent asks again for everything requested.
    let (mut query, _) = auth_query(&s.client, &["api://orders/Orders.Read"]);
    query.push(("prompt".into(), "consent".into()));
    let page = authorize(server, &browser, &query).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(asked(&page.text().await.unwrap()), vec!["Orders.Read"]);

    // The operator sees the consent, and takes it back: the refresh token stops working for
    // the scope, and the next sign-in asks again.
    let consents = format!(
        "{}/admin/api/v1/tenants/{}/users/alice@example.com/consents",
        server.base, server.tenant.id
    );
    let listed: Value = s
        .admin
        .http
        .get(&consents)
        .bearer_auth(&s.admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed,
        json!([{"client_id": s.client_id, "api": s.api, "scope": "Orders.Read",
                "created_at": listed[0]["created_at"]}])
    );
    let revoked = s
        .admin
        .http
        .delete(format!("{consents}/{}", s.client_id))
        .bearer_auth(&s.admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let refreshed = s
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&oidc_http(no_redirects()))
        .await;
    assert!(refreshed.is_err(), "a revoked consent gives no more tokens");
    let (query, _) = auth_query(&s.client, &["api://orders/Orders.Read"]);
    let page = authorize(server, &browser, &query).await;
    assert_eq!(page.status(), StatusCode::OK, "asked again");
    assert_eq!(asked(&page.text().await.unwrap()), vec!["Orders.Read"]);
    s.server.stop().await;
}

#[tokio::test]
async fn a_consent_given_to_one_app_does_not_serve_another() {
    let s = setup().await;
    let server = &s.server;
    let (browser, html) = sign_in_to_consent(&s, &["api://orders/Orders.Read"]).await;
    assert_eq!(
        answer(server, &browser, &html, true).await.status(),
        StatusCode::SEE_OTHER
    );
    // Another app of the tenant, same user, same browser session: it must ask for itself.
    let (other_id, other_secret) = server.app(AppKind::Web).await;
    let other = oidc_client(server, &other_id, &other_secret.unwrap()).await;
    let (mut query, _) = auth_query(&other, &["api://orders/Orders.Read"]);
    query.push(("prompt".into(), "none".into()));
    let silent = authorize(server, &browser, &query).await;
    assert_eq!(
        param(&location_params(&silent), "error"),
        Some("consent_required")
    );
    // Nor can it redeem a token for the scope some other way: a refresh of its own grant
    // (a sign-in with only OpenID scopes) asking for the API scope is refused.
    let (query, verifier) = auth_query(&other, &["offline_access"]);
    let signed_in = authorize(server, &browser, &query).await;
    let code = param(&location_params(&signed_in), "code")
        .expect("a code")
        .to_owned();
    let tokens = other
        .exchange_code(openidconnect::AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&oidc_http(no_redirects()))
        .await
        .expect("code exchange");
    let widened = other
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .add_scope(openidconnect::Scope::new("api://orders/Orders.Read".into()))
        .request_async(&oidc_http(no_redirects()))
        .await;
    assert!(widened.is_err(), "{widened:?}");
    s.server.stop().await;
}

#[tokio::test]
async fn a_declined_consent_sends_access_denied_and_signs_nobody_in() {
    let s = setup().await;
    let server = &s.server;
    let (browser, html) = sign_in_to_consent(&s, &["api://orders/Orders.Read"]).await;
    let declined = answer(server, &browser, &html, false).await;
    assert_eq!(declined.status(), StatusCode::SEE_OTHER);
    let redirect = location_params(&declined);
    assert_eq!(param(&redirect, "error"), Some("access_denied"));
    assert!(param(&redirect, "state").is_some(), "state comes back");
    assert!(param(&redirect, "code").is_none());
    // The flow is over: allowing on the same page afterwards (a second tab) does nothing.
    let late = answer(server, &browser, &html, true).await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST, "expired");
    // And no session was started: the next request asks for a sign-in again.
    let (mut query, _) = auth_query(&s.client, &[]);
    query.push(("prompt".into(), "none".into()));
    let silent = authorize(server, &browser, &query).await;
    assert_eq!(
        param(&location_params(&silent), "error"),
        Some("login_required")
    );
    s.server.stop().await;
}

#[tokio::test]
async fn a_consent_page_cannot_be_answered_from_another_browser() {
    let s = setup().await;
    let server = &s.server;
    let (_victim, html) = sign_in_to_consent(&s, &["api://orders/Orders.Read"]).await;
    // The attacker has the page's hidden fields (flow id, anti-forgery token) but not the
    // browser's cookies.
    let attacker = browser();
    let stolen = answer(server, &attacker, &html, true).await;
    assert_ne!(
        stolen.status(),
        StatusCode::SEE_OTHER,
        "no code for the attacker"
    );
    let listed = server
        .portico()
        .user_consents(
            &portico_core::directory::TenantRef::Id(server.tenant.id),
            "alice@example.com",
        )
        .await
        .unwrap();
    assert!(listed.is_empty(), "nothing was consented");
    s.server.stop().await;
}

#[tokio::test]
async fn an_administrators_grant_needs_no_consent_and_pairs_with_the_users() {
    let s = setup().await;
    let server = &s.server;
    let (status, _) = s
        .admin
        .grant(&s.client_id, &s.api, &["Orders.Read"], &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    // Granted for everyone: no consent page.
    let browser = browser();
    let (query, _) = auth_query(&s.client, &["api://orders/Orders.Read"]);
    let redirect = crate::harness::authorize_and_sign_in(
        server,
        &browser,
        &pairs(&query),
        "alice@example.com",
    )
    .await;
    assert!(param(&redirect, "code").is_some(), "{redirect:?}");
    // Asking for a granted and an ungranted scope asks only for the second.
    let (query, _) = auth_query(
        &s.client,
        &["api://orders/Orders.Read", "api://orders/Orders.Write"],
    );
    let page = authorize(server, &browser, &query).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(asked(&page.text().await.unwrap()), vec!["Orders.Write"]);
    // prompt=consent shows the granted scope too, but allowing it there does not make it the
    // user's own consent: once the administrator takes the grant back, it is gone.
    let (mut query, _) = auth_query(&s.client, &["api://orders/Orders.Read"]);
    query.push(("prompt".into(), "consent".into()));
    let page = authorize(server, &browser, &query).await;
    let html = page.text().await.unwrap();
    assert_eq!(asked(&html), vec!["Orders.Read"]);
    assert_eq!(
        answer(server, &browser, &html, true).await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, _) = s
        .admin
        .send(
            reqwest::Method::DELETE,
            &format!("/{}/permissions/{}/scope/Orders.Read", s.client_id, s.api),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (mut query, _) = auth_query(&s.client, &["api://orders/Orders.Read"]);
    query.push(("prompt".into(), "none".into()));
    let silent = authorize(server, &browser, &query).await;
    assert_eq!(
        param(&location_params(&silent), "error"),
        Some("consent_required")
    );
    s.server.stop().await;
}

/// The consent page in Chromium, with the app on another origin: the page's answer ends in a
/// redirect to the app, which its CSP must allow.
#[tokio::test]
async fn consent_in_chromium_ends_at_the_app() {
    use crate::browser::{Driver, fill_and_press, wait_for_url};

    let Some(driver) = Driver::start().await else {
        return;
    };
    let s = setup().await;
    let server = &s.server;
    let (query, _) = auth_query(&s.client, &["api://orders/Orders.Read"]);
    let mut url = url::Url::parse(&server.url("oauth2/v2.0/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(pairs(&query));
    let browser = &driver.client;
    browser.goto(url.as_str()).await.unwrap();
    fill_and_press(
        browser,
        "input#email",
        &[
            ("input#email", "alice@example.com"),
            ("input#password", PASSWORD),
        ],
        "button[type=submit]",
    )
    .await;
    fill_and_press(browser, "#consent-scopes", &[], "#consent-accept").await;
    let landed = wait_for_url(browser, &server.redirect_uri()).await;
    assert!(landed.query_pairs().any(|(k, _)| k == "code"), "{landed}");
    let listed = server
        .portico()
        .user_consents(
            &portico_core::directory::TenantRef::Id(server.tenant.id),
            "alice@example.com",
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    driver.stop().await;
    s.server.stop().await;
}

#[tokio::test]
async fn a_scope_only_administrators_may_consent_to_is_never_offered_to_users() {
    let s = setup().await;
    let server = &s.server;
    let define = |read_consent: &'static str| {
        json!({
            "identifier_uri": "api://orders",
            "scopes": [
                {"name": "Orders.Read", "consent": read_consent},
                {"name": "Orders.Write", "consent": "admins"}
            ]
        })
    };
    let (status, body) = s
        .admin
        .send(
            reqwest::Method::PUT,
            &format!("/{}/api", s.api),
            define("users"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["api"]["scopes"][1]["consent"], "admins");
    // Asked for without an administrator's grant: refused before anyone signs in.
    let (query, _) = auth_query(&s.client, &["api://orders/Orders.Write"]);
    let refused = crate::api_access::authorize_redirect(server, &query).await;
    assert_eq!(param(&refused, "error"), Some("invalid_scope"));
    // Alice consents to Orders.Read, which users may.
    let (browser, html) =
        sign_in_to_consent(&s, &["api://orders/Orders.Read", "offline_access"]).await;
    assert_eq!(asked(&html), vec!["Orders.Read"]);
    assert_eq!(
        answer(server, &browser, &html, true).await.status(),
        StatusCode::SEE_OTHER
    );
    // The API makes Orders.Read administrators-only: her consent no longer counts, and a
    // user can no longer ask for it.
    let (status, _) = s
        .admin
        .send(
            reqwest::Method::PUT,
            &format!("/{}/api", s.api),
            define("admins"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let consents = server
        .portico()
        .user_consents(
            &portico_core::directory::TenantRef::Id(server.tenant.id),
            "alice@example.com",
        )
        .await
        .unwrap();
    assert!(consents.is_empty(), "{consents:?}");
    let (query, _) = auth_query(&s.client, &["api://orders/Orders.Read"]);
    let refused = crate::api_access::authorize_redirect(server, &query).await;
    assert_eq!(param(&refused, "error"), Some("invalid_scope"));
    // Granted by an administrator, it is served without asking anyone.
    let (status, _) = s
        .admin
        .grant(&s.client_id, &s.api, &["Orders.Write"], &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (query, _) = auth_query(&s.client, &["api://orders/Orders.Write"]);
    let silent = authorize(server, &browser, &query).await;
    assert!(param(&location_params(&silent), "code").is_some());
    s.server.stop().await;
}
