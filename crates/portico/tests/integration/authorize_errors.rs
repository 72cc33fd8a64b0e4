//! Authorization endpoint errors: untrusted client or redirect URI → an error page and never a
//! redirect; anything else → an error at the verified redirect URI, with state and iss.

use portico_core::directory::AppKind;

use crate::harness::{TestServer, browser, location_params, param, pkce};

async fn authorize(server: &TestServer, query: &[(&str, &str)]) -> reqwest::Response {
    browser()
        .get(server.url("oauth2/v2.0/authorize"))
        .query(query)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn untrusted_client_or_redirect_shows_a_page_and_never_redirects() {
    let server = TestServer::start().await;
    let (client_id, _) = server.app(AppKind::Spa).await;
    let redirect = server.redirect_uri();
    let (_, challenge) = pkce();
    let slashed = format!("{redirect}/");
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "no client_id",
            vec![("redirect_uri", &redirect), ("response_type", "code")],
        ),
        (
            "malformed client_id",
            vec![("client_id", "xyz"), ("redirect_uri", &redirect)],
        ),
        (
            "unknown client_id",
            vec![
                ("client_id", "6f1c2a2e-0000-4000-8000-000000000000"),
                ("redirect_uri", &redirect),
            ],
        ),
        (
            "unregistered redirect_uri",
            vec![
                ("client_id", &client_id),
                ("redirect_uri", "https://evil.example/cb"),
            ],
        ),
        (
            "redirect_uri differing by a trailing slash",
            vec![("client_id", &client_id), ("redirect_uri", &slashed)],
        ),
        (
            "missing redirect_uri",
            vec![("client_id", &client_id), ("code_challenge", &challenge)],
        ),
    ];
    for (name, query) in cases {
        let response = authorize(&server, &query).await;
        assert_eq!(response.status(), 400, "{name}");
        assert!(
            response.headers().get("location").is_none(),
            "{name}: must not redirect"
        );
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("frame-ancestors 'none'"), "{name}");
        let html = response.text().await.unwrap();
        assert!(html.contains("<h1>"), "{name}: friendly page");
    }
    let unknown_tenant = browser()
        .get(format!("{}/nobody/oauth2/v2.0/authorize", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_tenant.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn request_errors_go_back_to_the_client() {
    let server = TestServer::start().await;
    let (spa, _) = server.app(AppKind::Spa).await;
    let (web, _) = server.app(AppKind::Web).await;
    let redirect = server.redirect_uri();
    let (_, challenge) = pkce();
    let base = |client: &str| -> Vec<(String, String)> {
        vec![
            ("client_id".into(), client.into()),
            ("redirect_uri".into(), redirect.clone()),
            ("state".into(), "st-1".into()),
        ]
    };
    let cases: Vec<(&str, &str, Vec<(&str, &str)>, &str)> = vec![
        (
            "public client without PKCE",
            &spa,
            vec![("response_type", "code"), ("scope", "openid")],
            "invalid_request",
        ),
        (
            "plain PKCE",
            &spa,
            vec![
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            "implicit response type",
            &web,
            vec![("response_type", "token"), ("scope", "openid")],
            "unsupported_response_type",
        ),
        (
            "missing response_type",
            &web,
            vec![("scope", "openid")],
            "invalid_request",
        ),
        (
            "missing scope",
            &web,
            vec![("response_type", "code")],
            "invalid_scope",
        ),
        (
            "unknown scope",
            &web,
            vec![("response_type", "code"), ("scope", "openid admin")],
            "invalid_scope",
        ),
        (
            "bad prompt",
            &web,
            vec![
                ("response_type", "code"),
                ("scope", "openid"),
                ("prompt", "sometimes"),
            ],
            "invalid_request",
        ),
        (
            "request object",
            &web,
            vec![
                ("response_type", "code"),
                ("scope", "openid"),
                ("request", "eyJ.x.y"),
            ],
            "invalid_request",
        ),
        (
            "prompt=none without a session",
            &web,
            vec![
                ("response_type", "code"),
                ("scope", "openid"),
                ("prompt", "none"),
            ],
            "login_required",
        ),
    ];
    for (name, client, extra, error) in cases {
        let mut query = base(client);
        query.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let query: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = authorize(&server, &query).await;
        assert_eq!(response.status(), 302, "{name}");
        let params = location_params(&response);
        assert_eq!(param(&params, "error"), Some(error), "{name}");
        assert_eq!(param(&params, "state"), Some("st-1"), "{name}");
        assert_eq!(
            param(&params, "iss"),
            Some(server.issuer().as_str()),
            "{name}"
        );
        assert!(
            response.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with(&redirect)
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn form_post_response_mode_posts_the_code() {
    let server = TestServer::start().await;
    server.user("carol@example.com").await;
    let (web, _) = server.app(AppKind::Web).await;
    let redirect = server.redirect_uri();
    let browser = browser();
    let query = [
        ("client_id", web.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("response_type", "code"),
        ("response_mode", "form_post"),
        ("scope", "openid"),
        ("state", "s1"),
    ];
    let page = browser
        .get(server.url("oauth2/v2.0/authorize"))
        .query(&query)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = crate::harness::submit_sign_in(
        &server,
        &browser,
        &page,
        "carol@example.com",
        crate::harness::PASSWORD,
    )
    .await;
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains(&format!("form-action 'self' {}", server.app_origin)),
        "{csp}"
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("action=\"{}", redirect.replace('/', "&#x2f;")))
            || html.contains(&format!("action=\"{redirect}"))
    );
    let fields = crate::harness::hidden_inputs(&html);
    assert!(fields.iter().any(|(k, _)| k == "code"));
    assert!(fields.iter().any(|(k, v)| k == "state" && v == "s1"));
    assert!(
        fields
            .iter()
            .any(|(k, v)| k == "iss" && *v == server.issuer())
    );
    server.stop().await;
}

/// With a session, a second authorize is silent; prompt=login and max_age=0 force the page.
#[tokio::test]
async fn sso_session_makes_second_authorize_silent() {
    let server = TestServer::start().await;
    server.user("dave@example.com").await;
    let (web, _) = server.app(AppKind::Web).await;
    let redirect = server.redirect_uri();
    let browser = browser();
    let query = [
        ("client_id", web.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("response_type", "code"),
        ("scope", "openid"),
    ];
    let first =
        crate::harness::authorize_and_sign_in(&server, &browser, &query, "dave@example.com").await;
    assert!(param(&first, "code").is_some());
    let silent = browser
        .get(server.url("oauth2/v2.0/authorize"))
        .query(&query)
        .query(&[("prompt", "none")])
        .send()
        .await
        .unwrap();
    assert_eq!(silent.status(), 302);
    assert!(
        param(&location_params(&silent), "code").is_some(),
        "silent SSO"
    );
    for extra in [("prompt", "login"), ("max_age", "0")] {
        let forced = browser
            .get(server.url("oauth2/v2.0/authorize"))
            .query(&query)
            .query(&[extra])
            .send()
            .await
            .unwrap();
        assert_eq!(forced.status(), 200, "{extra:?} shows the sign-in page");
    }
    server.stop().await;
}

/// `login_hint` prefills the email field (and moves focus to the password).
#[tokio::test]
async fn login_hint_prefills_the_email() {
    let server = TestServer::start().await;
    let (web, _) = server.app(AppKind::Web).await;
    let html = browser()
        .get(server.url("oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", web.as_str()),
            ("redirect_uri", &server.redirect_uri()),
            ("response_type", "code"),
            ("scope", "openid"),
            ("login_hint", "hinted@example.com"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"value="hinted@example.com""#), "{html}");
    assert!(html.contains(r#"autocomplete="current-password" required autofocus"#));
    server.stop().await;
}

/// Pages speak English, German or Polish: `ui_locales` first, then Accept-Language; the choice
/// survives the form POST, and error pages follow it too.
#[tokio::test]
async fn pages_are_localized() {
    let server = TestServer::start().await;
    server.user("anna@example.com").await;
    let (web, _) = server.app(AppKind::Web).await;
    let redirect = server.redirect_uri();
    let query = [
        ("client_id", web.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("response_type", "code"),
        ("scope", "openid"),
    ];
    let browser = browser();
    let page = |extra: Vec<(&'static str, &'static str)>, accept: Option<&'static str>| {
        let browser = browser.clone();
        let url = server.url("oauth2/v2.0/authorize");
        async move {
            let mut request = browser.get(url).query(&query).query(&extra);
            if let Some(accept) = accept {
                request = request.header("accept-language", accept);
            }
            request.send().await.unwrap().text().await.unwrap()
        }
    };
    let german = page(vec![("ui_locales", "de-DE en")], Some("pl")).await;
    assert!(german.contains(r#"<html lang="de">"#) && german.contains("<h1>Anmelden</h1>"));
    assert!(german.contains("E-Mail-Adresse") && german.contains("Kennwort"));
    let polish = page(vec![], Some("fr;q=0.9, pl;q=0.8, en;q=0.1")).await;
    assert!(polish.contains(r#"<html lang="pl">"#) && polish.contains("Zaloguj się"));
    let english = page(vec![], Some("ja")).await;
    assert!(english.contains(r#"<html lang="en">"#) && english.contains("<h1>Sign in</h1>"));
    let create = page(vec![("prompt", "create"), ("ui_locales", "de")], None).await;
    assert!(create.contains("<h1>Konto erstellen</h1>"), "{create}");

    // The German form posts back in German, and its error is German.
    let mut form = crate::harness::hidden_inputs(&german);
    form.push(("email".into(), "anna@example.com".into()));
    form.push(("password".into(), "definitely wrong".into()));
    let action = crate::harness::html_unescape(
        german
            .split(r#"action=""#)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap(),
    );
    assert!(action.contains("ui_locales=de"), "{action}");
    let retry = browser
        .post(&action)
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        retry.contains("Ihre E-Mail-Adresse oder Ihr Kennwort ist falsch."),
        "{retry}"
    );

    let unknown = reqwest::Client::new()
        .get(format!(
            "{}/nobody/oauth2/v2.0/authorize?ui_locales=pl",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(unknown.contains("Nieznana organizacja"), "{unknown}");
    server.stop().await;
}
