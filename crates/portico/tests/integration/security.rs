//! Security regressions, named after the attack they stop.

use portico_core::directory::AppKind;
use portico_keys::SigningAlgorithm;

use crate::harness::{
    Backend, PASSWORD, TestServer, authorize_and_sign_in, browser, param, pkce, redeem, spa_tokens,
    submit_sign_in, token_request, userinfo_status,
};

#[tokio::test]
async fn authorization_code_replay_revokes_what_it_granted() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, _) = server.app(AppKind::Spa).await;
    let (verifier, challenge) = pkce();
    let redirect = server.redirect_uri();
    let params = authorize_and_sign_in(
        &server,
        &browser(),
        &[
            ("client_id", &client_id),
            ("response_type", "code"),
            ("redirect_uri", &redirect),
            ("scope", "openid offline_access"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
        "alice@example.com",
    )
    .await;
    let code = param(&params, "code").unwrap();
    let (status, first) = redeem(&server, &client_id, code, &verifier).await;
    assert_eq!(status, 200);
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&server, access).await, 200);

    let (status, replay) = redeem(&server, &client_id, code, &verifier).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        userinfo_status(&server, access).await,
        401,
        "access token revoked"
    );
    let (status, refreshed) = token_request(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        (status, refreshed["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    server.stop().await;
}

#[tokio::test]
async fn code_is_bound_to_verifier_redirect_and_client_and_burns_on_failure() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, _) = server.app(AppKind::Spa).await;
    let (other_client, _) = server.app(AppKind::Spa).await;
    let redirect = server.redirect_uri();
    let fresh_code = |challenge: String| {
        let server = &server;
        let client_id = client_id.clone();
        let redirect = redirect.clone();
        async move {
            let params = authorize_and_sign_in(
                server,
                &browser(),
                &[
                    ("client_id", &client_id),
                    ("response_type", "code"),
                    ("redirect_uri", &redirect),
                    ("scope", "openid"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
                "alice@example.com",
            )
            .await;
            param(&params, "code").unwrap().to_owned()
        }
    };

    let (verifier, challenge) = pkce();
    let code = fresh_code(challenge).await;
    let (wrong_verifier, _) = pkce();
    let (status, body) = redeem(&server, &client_id, &code, &wrong_verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = redeem(&server, &client_id, &code, &verifier).await;
    assert_eq!(
        status, 400,
        "a failed attempt burns the code (no verifier guessing)"
    );

    let (verifier, challenge) = pkce();
    let code = fresh_code(challenge).await;
    let (status, body) = token_request(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1/elsewhere"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "redirect_uri bound"
    );

    let (verifier, challenge) = pkce();
    let code = fresh_code(challenge).await;
    let (status, body) = redeem(&server, &other_client, &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "client bound"
    );

    let (_, challenge) = pkce();
    let code = fresh_code(challenge).await;
    let (status, body) = token_request(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", &redirect),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "verifier required"
    );
    server.stop().await;
}

/// RFC 9700 §2.1.1: a verifier sent for a code issued without a challenge is refused.
#[tokio::test]
async fn pkce_downgrade_is_refused() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    let redirect = server.redirect_uri();
    let params = authorize_and_sign_in(
        &server,
        &browser(),
        &[
            ("client_id", &client_id),
            ("response_type", "code"),
            ("redirect_uri", &redirect),
            ("scope", "openid"),
        ],
        "alice@example.com",
    )
    .await;
    let (verifier, _) = pkce();
    let (status, body) = token_request(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("client_secret", secret.as_deref().unwrap()),
            ("code", param(&params, "code").unwrap()),
            ("redirect_uri", &redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    server.stop().await;
}

#[tokio::test]
async fn expired_authorization_code_is_refused() {
    let server = TestServer::start_configured(Backend::Sqlite, SigningAlgorithm::Rs256, |s| {
        s.code_lifetime_secs = -1;
    })
    .await
    .unwrap();
    server.user("alice@example.com").await;
    let (client_id, _) = server.app(AppKind::Spa).await;
    let (verifier, challenge) = pkce();
    let redirect = server.redirect_uri();
    let params = authorize_and_sign_in(
        &server,
        &browser(),
        &[
            ("client_id", &client_id),
            ("response_type", "code"),
            ("redirect_uri", &redirect),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
        "alice@example.com",
    )
    .await;
    let (status, body) = redeem(
        &server,
        &client_id,
        param(&params, "code").unwrap(),
        &verifier,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    server.stop().await;
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_family() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let tokens = spa_tokens(&server, &browser(), "alice@example.com").await;
    let refresh = |token: String| {
        let server = &server;
        let client_id = tokens.client_id.clone();
        async move {
            token_request(
                server,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", &client_id),
                    ("refresh_token", &token),
                ],
            )
            .await
        }
    };
    let (status, second) = refresh(tokens.refresh().to_owned()).await;
    assert_eq!(status, 200);
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    let second_access = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo_status(&server, &second_access).await, 200);

    let (status, reuse) = refresh(tokens.refresh().to_owned()).await;
    assert_eq!(
        (status, reuse["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = refresh(second_refresh).await;
    assert_eq!(status, 400, "the legitimate successor dies with the family");
    assert_eq!(
        userinfo_status(&server, &second_access).await,
        401,
        "and its access tokens"
    );
    server.stop().await;
}

#[tokio::test]
async fn refresh_scope_can_narrow_but_not_widen() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let tokens = spa_tokens(&server, &browser(), "alice@example.com").await;
    let (status, wider) = token_request(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &tokens.client_id),
            ("refresh_token", tokens.refresh()),
            ("scope", "openid email"),
        ],
    )
    .await;
    assert_eq!(
        (status, wider["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    server.stop().await;
}

async fn sign_in_status(server: &TestServer, email: &str, password: &str) -> (u16, String) {
    let (client_id, _) = server.app(AppKind::Web).await;
    let browser = browser();
    let page = crate::harness::sign_in_page(server, &browser, &client_id)
        .await
        .text()
        .await
        .unwrap();
    let response = submit_sign_in(server, &browser, &page, email, password).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn account_lockout_after_ten_distinct_wrong_passwords() {
    let server = TestServer::start().await;
    server.user("victim@example.com").await;
    for i in 0..10 {
        let (status, html) =
            sign_in_status(&server, "victim@example.com", &format!("guess-{i}-xyz")).await;
        assert_eq!(status, 401, "attempt {i}");
        assert!(html.contains("incorrect"));
    }
    let (status, html) = sign_in_status(&server, "victim@example.com", PASSWORD).await;
    assert_eq!(status, 403, "locked even for the right password");
    assert!(html.contains("locked"));
    server.stop().await;
}

#[tokio::test]
async fn repeating_the_same_wrong_password_does_not_lock() {
    let server = TestServer::start().await;
    server.user("forgetful@example.com").await;
    for _ in 0..15 {
        let (status, _) = sign_in_status(&server, "forgetful@example.com", "old-password-1").await;
        assert_eq!(status, 401);
    }
    let (status, _) = sign_in_status(&server, "forgetful@example.com", PASSWORD).await;
    assert_eq!(
        status, 303,
        "stale saved password must not lock the owner out"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_right_password_sent_several_times_at_once_signs_in_every_time() {
    let server = TestServer::start().await;
    server.user("hasty@example.com").await;
    let attempts = (0..6)
        .map(|_| {
            let server = &server;
            async move {
                sign_in_status(server, "hasty@example.com", PASSWORD)
                    .await
                    .0
            }
        })
        .collect();
    let statuses = crate::harness::join_all(attempts).await;
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    server.stop().await;
}

#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_lockout_counter() {
    let server = TestServer::start().await;
    server.user("target@example.com").await;
    let attempts = (0..25)
        .map(|i| {
            let server = &server;
            async move {
                sign_in_status(server, "target@example.com", &format!("parallel-{i}"))
                    .await
                    .0
            }
        })
        .collect();
    let statuses = crate::harness::join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        checked <= 10,
        "{checked} guesses were checked: {statuses:?}"
    );
    let (status, _) = sign_in_status(&server, "target@example.com", PASSWORD).await;
    assert!(
        status == 403 || status == 429,
        "locked or throttled, got {status}"
    );
    server.stop().await;
}

#[tokio::test]
async fn sign_in_form_without_csrf_token_is_refused() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    let browser = browser();
    let page = crate::harness::sign_in_page(&server, &browser, &client_id)
        .await
        .text()
        .await
        .unwrap();
    let mut form: Vec<(String, String)> = crate::harness::hidden_inputs(&page)
        .into_iter()
        .filter(|(k, _)| k != "csrf_token")
        .collect();
    form.push(("email".into(), "alice@example.com".into()));
    form.push(("password".into(), PASSWORD.into()));
    let missing = browser
        .post(format!("{}/{}/signin", server.base, server.tenant.name))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 403);
    // A token and flow taken from one browser are useless in another (both are bound to its
    // anti-forgery cookie): the other browser gets the "page expired" page.
    let token = crate::harness::input_value(&page, "csrf_token").unwrap();
    form.push(("csrf_token".into(), token));
    let foreign = crate::harness::browser()
        .post(format!("{}/{}/signin", server.base, server.tenant.name))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 400);
    assert!(
        foreign
            .text()
            .await
            .unwrap()
            .contains("Your sign-in page expired")
    );
    server.stop().await;
}

#[tokio::test]
async fn pages_and_cookies_carry_security_attributes() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    let browser = browser();
    let page = crate::harness::sign_in_page(&server, &browser, &client_id).await;
    let headers = page.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("'nonce-"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"autocomplete="username""#) && html.contains(r#"type="email""#));
    assert!(html.contains(r#"autocomplete="current-password""#));
    assert!(html.contains(r#"<label for="email">"#) && html.contains(r#"<label for="password">"#));
    let response = submit_sign_in(&server, &browser, &html, "alice@example.com", PASSWORD).await;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("portico_session_"))
        .expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Max-Age"),
        "not persistent without keep-me-signed-in: {cookie}"
    );
    server.stop().await;
}

#[tokio::test]
async fn tokens_of_one_tenant_are_worthless_at_another() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let tokens = spa_tokens(&server, &browser(), "alice@example.com").await;
    let other = server
        .portico()
        .create_tenant("fabrikam", SigningAlgorithm::Rs256)
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let at_other = client
        .get(format!("{}/{}/oidc/userinfo", server.base, other.id))
        .bearer_auth(tokens.access())
        .send()
        .await
        .unwrap();
    assert_eq!(at_other.status(), 401);
    let refresh_at_other = client
        .post(format!("{}/{}/oauth2/v2.0/token", server.base, other.id))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", tokens.client_id.as_str()),
            ("refresh_token", tokens.refresh()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refresh_at_other.status(),
        401,
        "the client does not exist in the other tenant"
    );
    // An id token is not an access token.
    assert_eq!(userinfo_status(&server, tokens.id_token()).await, 401);
    let none = client
        .get(server.url("oidc/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    server.stop().await;
}

#[tokio::test]
async fn logout_ends_the_session_and_checks_the_redirect() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let browser = browser();
    let tokens = spa_tokens(&server, &browser, "alice@example.com").await;
    let bad = browser
        .get(server.url("oauth2/v2.0/logout"))
        .query(&[
            ("id_token_hint", tokens.id_token()),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "unregistered post-logout redirect");

    let out = browser
        .get(server.url("oauth2/v2.0/logout"))
        .query(&[
            ("id_token_hint", tokens.id_token()),
            ("post_logout_redirect_uri", &server.redirect_uri()),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let location = out.headers()["location"].to_str().unwrap();
    assert_eq!(location, format!("{}?state=bye", server.redirect_uri()));
    assert_eq!(
        userinfo_status(&server, tokens.access()).await,
        401,
        "grants of the session end"
    );
    let silent = browser
        .get(server.url("oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", tokens.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", &server.redirect_uri()),
            ("scope", "openid"),
            ("prompt", "none"),
            ("code_challenge", &pkce().1),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    let params = crate::harness::location_params(&silent);
    assert_eq!(param(&params, "error"), Some("login_required"));
    server.stop().await;
}

#[tokio::test]
async fn logout_without_proof_asks_the_user() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let browser = browser();
    let tokens = spa_tokens(&server, &browser, "alice@example.com").await;
    let page = browser
        .get(server.url("oauth2/v2.0/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign out?"));
    assert_eq!(
        userinfo_status(&server, tokens.access()).await,
        200,
        "nothing ended yet"
    );
    let form = crate::harness::hidden_inputs(&html);
    let confirmed = browser
        .post(server.url("oauth2/v2.0/logout"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    assert!(confirmed.text().await.unwrap().contains("signed out"));
    assert_eq!(userinfo_status(&server, tokens.access()).await, 401);
    server.stop().await;
}

#[tokio::test]
async fn a_bot_cannot_fill_the_store_with_sign_in_flows() {
    let server = TestServer::start_configured(Backend::Sqlite, SigningAlgorithm::Rs256, |s| {
        s.rate_limits.flows = portico_core::ratelimit::Rate {
            per_minute: 1,
            burst: 3,
        };
    })
    .await
    .unwrap();
    let (client_id, _) = server.app(AppKind::Web).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        // A fresh browser each time: no cookies, a new flow every visit.
        let page = crate::page::authorize(&server, &browser(), &client_id, &[]).await;
        statuses.push(page.status);
        if page.status == 429 {
            assert!(
                page.html.contains("Too many sign-in attempts"),
                "{}",
                page.html
            );
        }
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    server.stop().await;
}

/// Refreshes `tokens` at a Portico over the same store whose clock is `days` ahead.
async fn refresh_days_later(
    server: &TestServer,
    tokens: &crate::harness::Tokens,
    days: i64,
) -> Result<(), portico_core::oauth::OAuthError> {
    let clock = portico_core::clock::ManualClock::new(server.portico().now() + days * 24 * 3600);
    let later = server.portico_at(&clock);
    let request = portico_core::oauth::TokenRequest {
        grant_type: Some("refresh_token".into()),
        refresh_token: Some(tokens.refresh().to_owned()),
        credentials: portico_core::oauth::ClientCredentials {
            form_client_id: Some(tokens.client_id.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    later.token(&server.tenant, request).await.map(drop)
}

#[tokio::test]
async fn refresh_tokens_end_at_the_tenants_absolute_lifetime() {
    use portico_core::directory::{TenantRef, TenantSettings};
    let server = TestServer::start().await;
    server.user("steady@example.com").await;
    // By default a refresh token used within 30 days keeps working for 90.
    let tokens = crate::harness::public_client_tokens(
        &server,
        &browser(),
        "steady@example.com",
        AppKind::Native,
    )
    .await;
    assert!(refresh_days_later(&server, &tokens, 2).await.is_ok());
    // A tenant that says one day means one day from the sign-in, however often it is used.
    server
        .portico()
        .set_tenant_settings(
            &TenantRef::Id(server.tenant.id),
            TenantSettings {
                refresh_token_max_days: Some(1),
                ..TenantSettings::default()
            },
        )
        .await
        .unwrap();
    let tokens = crate::harness::public_client_tokens(
        &server,
        &browser(),
        "steady@example.com",
        AppKind::Native,
    )
    .await;
    let refused = refresh_days_later(&server, &tokens, 2).await.unwrap_err();
    assert_eq!(refused.code.as_str(), "invalid_grant", "{refused}");
    server.stop().await;
}
