//! Introspection (RFC 7662), driven by the `openidconnect` crate's introspection client, and
//! revocation (RFC 7009), sent as that crate sends it (its client refuses revocation URLs that
//! are not HTTPS, so the form is posted here); and the ways a client with no part in a token
//! would try to learn about it or end it.

use openidconnect::{
    AccessToken, IntrospectionUrl, OAuth2TokenResponse, TokenIntrospectionResponse,
};
use portico_core::directory::AppKind;

use crate::harness::{TestServer, authorize_and_sign_in, browser, oidc_http, userinfo_status};
use crate::rp::{Client, auth_query, no_redirects, oidc_client, pairs, sign_in};

/// A signed-in web client's tokens (code + PKCE with offline access).
async fn signed_in(server: &TestServer, client: &Client) -> openidconnect::core::CoreTokenResponse {
    sign_in(
        server,
        client,
        &["profile", "offline_access"],
        "alice@example.com",
    )
    .await
}

/// A confidential web client: its id, secret and `openidconnect` client.
async fn confidential_client(server: &TestServer) -> (String, String, Client) {
    let (id, secret) = server.app(AppKind::Web).await;
    let secret = secret.unwrap();
    let client = oidc_client(server, &id, &secret).await;
    (id, secret, client)
}

/// An RFC 7009 revocation of a refresh token, as the `oauth2` crate sends it (HTTP Basic,
/// `token` and `token_type_hint`); the status.
async fn revoke(server: &TestServer, client_id: &str, secret: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .post(server.url("oauth2/v2.0/revoke"))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", token), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn introspection_and_revocation_speak_the_rfcs_to_a_third_party_client() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, secret, client) = confidential_client(&server).await;
    let http = oidc_http(no_redirects());
    let tokens = signed_in(&server, &client).await;
    let client = client.set_introspection_url(
        IntrospectionUrl::new(server.url("oauth2/v2.0/introspect")).unwrap(),
    );

    let about = client
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .expect("introspection");
    assert!(about.active());
    assert_eq!(
        about.client_id().map(|c| c.as_str()),
        Some(client_id.as_str())
    );
    assert_eq!(about.token_type().map(|t| t.as_ref()), Some("bearer"));
    assert!(about.exp().is_some() && about.iat().is_some() && about.sub().is_some());
    let refresh = tokens.refresh_token().unwrap().clone();
    let about_refresh = client
        .introspect(&AccessToken::new(refresh.secret().clone()))
        .request_async(&http)
        .await
        .expect("introspection of the refresh token");
    assert!(about_refresh.active());

    // Another app, authenticated, learns nothing about tokens it has no part in.
    let (stranger_id, stranger_secret, stranger) = confidential_client(&server).await;
    let stranger = stranger.set_introspection_url(
        IntrospectionUrl::new(server.url("oauth2/v2.0/introspect")).unwrap(),
    );
    for token in [tokens.access_token().secret(), refresh.secret()] {
        let seen = stranger
            .introspect(&AccessToken::new(token.clone()))
            .request_async(&http)
            .await
            .unwrap();
        assert!(!seen.active(), "another client sees the token as inactive");
    }
    // ...and cannot end it: revocation answers 200 and nothing happens.
    assert_eq!(
        revoke(&server, &stranger_id, &stranger_secret, refresh.secret()).await,
        200,
        "revocation answers 200 for anyone's token"
    );
    assert_eq!(
        userinfo_status(&server, tokens.access_token().secret()).await,
        200
    );

    // Garbage is not active, and revoking it is fine.
    let garbage = client
        .introspect(&AccessToken::new("not-a-token".into()))
        .request_async(&http)
        .await
        .unwrap();
    assert!(!garbage.active());
    assert_eq!(revoke(&server, &client_id, &secret, "nope").await, 200);
    assert_eq!(revoke(&server, &client_id, "wrong", "nope").await, 401);

    // The client revokes its refresh token: the whole grant ends, access token included.
    assert_eq!(
        revoke(&server, &client_id, &secret, refresh.secret()).await,
        200
    );
    assert!(
        client
            .exchange_refresh_token(&refresh)
            .unwrap()
            .request_async(&http)
            .await
            .is_err()
    );
    let after = client
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(
        !after.active(),
        "the access token of a revoked grant is inactive"
    );
    assert_eq!(
        userinfo_status(&server, tokens.access_token().secret()).await,
        401
    );
    server.stop().await;
}

#[tokio::test]
async fn introspection_refuses_public_clients_and_wrong_secrets() {
    let server = TestServer::start().await;
    let (spa, _) = server.app(AppKind::Spa).await;
    let (web, secret) = server.app(AppKind::Web).await;
    let introspect = |form: Vec<(&'static str, String)>| {
        let url = server.url("oauth2/v2.0/introspect");
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = introspect(vec![("client_id", spa), ("token", "x".into())]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = introspect(vec![
        ("client_id", web.clone()),
        ("client_secret", "wrong".into()),
        ("token", "x".into()),
    ])
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) =
        introspect(vec![("client_id", web), ("client_secret", secret.unwrap())]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "no token"
    );
    server.stop().await;
}

#[tokio::test]
async fn revoking_a_users_sessions_ends_every_grant_and_sso_session_but_not_the_account() {
    let server = TestServer::start().await;
    let alice = server.user("alice@example.com").await;
    let token = server.portico().create_admin_token().await.unwrap();
    let http = oidc_http(no_redirects());
    let (_, _, first) = confidential_client(&server).await;
    let (_, _, second) = confidential_client(&server).await;
    let mut refresh_tokens = Vec::new();
    for client in [&first, &second] {
        refresh_tokens.push(
            signed_in(&server, client)
                .await
                .refresh_token()
                .unwrap()
                .clone(),
        );
    }
    // The same browser keeps an SSO session: a second authorize completes without a page.
    let sso = browser();
    let (query, _) = auth_query(&first, &[]);
    authorize_and_sign_in(&server, &sso, &pairs(&query), "alice@example.com").await;
    let silent = sso
        .get(server.url("oauth2/v2.0/authorize"))
        .query(&auth_query(&first, &[]).0)
        .send()
        .await
        .unwrap();
    assert_eq!(silent.status(), 302, "SSO: straight back to the app");

    let revoke = |tenant: String| {
        let url = format!(
            "{}/admin/api/v1/tenants/{tenant}/users/alice@example.com/revoke-sessions",
            server.base
        );
        let token = token.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    server
        .portico()
        .create_tenant("fabrikam", portico_keys::SigningAlgorithm::Rs256)
        .await
        .unwrap();
    assert_eq!(
        revoke("fabrikam".into()).await,
        404,
        "not a user of that tenant"
    );
    let rotated = first
        .exchange_refresh_token(&refresh_tokens[0])
        .unwrap()
        .request_async(&http)
        .await
        .expect("untouched by another tenant's call");
    let rotated = rotated.refresh_token().unwrap().clone();
    assert_eq!(revoke(server.tenant.id.to_string()).await, 204);
    for (client, refresh) in [(&first, &rotated), (&second, &refresh_tokens[1])] {
        assert!(
            client
                .exchange_refresh_token(refresh)
                .unwrap()
                .request_async(&http)
                .await
                .is_err()
        );
    }
    let page = sso
        .get(server.url("oauth2/v2.0/authorize"))
        .query(&auth_query(&first, &[]).0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        200,
        "the SSO session is gone: the sign-in page again"
    );
    // The account itself still signs in.
    let user = server
        .portico()
        .find_user(
            &portico_core::directory::TenantRef::Id(server.tenant.id),
            &alice.id.to_string(),
        )
        .await
        .unwrap();
    assert!(user.enabled);
    signed_in(&server, &second).await;
    server.stop().await;
}
