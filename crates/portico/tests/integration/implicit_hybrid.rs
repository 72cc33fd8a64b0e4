//! The implicit and hybrid flows (`id_token token`, `code id_token`), off unless enabled per
//! app, run by the `openidconnect` crate, which verifies the ID token (signature, audience,
//! nonce) and checks `at_hash` and `c_hash` itself.

use openidconnect::core::{CoreIdToken, CoreResponseType};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthenticationFlow, AuthorizationCode, AuthorizationCodeHash,
    CsrfToken, Nonce, TokenResponse,
};
use portico_core::directory::AppKind;
use serde_json::json;

use crate::harness::{
    TestServer, authorize_and_sign_in, browser, location_params, oidc_http, param,
};
use crate::rp::{Client, no_redirects, oidc_client, pairs};

/// The crate's authorization request for `flow`, and its nonce.
pub(crate) fn request(
    client: &Client,
    flow: AuthenticationFlow<CoreResponseType>,
) -> (Vec<(String, String)>, Nonce) {
    let (url, _, nonce) = client
        .authorize_url(flow, CsrfToken::new_random, Nonce::new_random)
        .url();
    let query = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (query, nonce)
}

pub(crate) async fn set_implicit(server: &TestServer, app: &str, value: &str) {
    let token = server.portico().create_admin_token().await.unwrap();
    let status = reqwest::Client::new()
        .patch(format!(
            "{}/admin/api/v1/tenants/{}/applications/{app}",
            server.base, server.tenant.id
        ))
        .bearer_auth(token)
        .json(&json!({"implicit": value}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

/// The authorization request's answer without signing in (an error straight back).
async fn refused(server: &TestServer, query: &[(String, String)]) -> Vec<(String, String)> {
    let response = no_redirects()
        .get(server.url("oauth2/v2.0/authorize"))
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains('#'),
        "errors of token flows come in the fragment: {location}"
    );
    location_params(&response)
}

#[tokio::test]
async fn implicit_and_hybrid_tokens_are_bound_and_only_for_apps_that_enable_them() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    let client = oidc_client(&server, &client_id, &secret.unwrap()).await;

    // Off by default.
    let (query, _) = request(&client, AuthenticationFlow::Implicit(true));
    let answer = refused(&server, &query).await;
    assert_eq!(param(&answer, "error"), Some("unauthorized_client"));
    set_implicit(&server, &client_id, "id-token").await;
    let answer = refused(&server, &query).await;
    assert_eq!(
        param(&answer, "error"),
        Some("unauthorized_client"),
        "ID tokens only"
    );
    set_implicit(&server, &client_id, "id-token-and-token").await;
    // A nonce is required, and tokens never go in the query.
    let without_nonce: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "nonce")
        .cloned()
        .collect();
    assert_eq!(
        param(&refused(&server, &without_nonce).await, "error"),
        Some("invalid_request")
    );
    let mut in_query = query.clone();
    in_query.push(("response_mode".into(), "query".into()));
    assert_eq!(
        param(&refused(&server, &in_query).await, "error"),
        Some("invalid_request")
    );

    // id_token token: the crate verifies the ID token and checks at_hash.
    let (query, nonce) = request(&client, AuthenticationFlow::Implicit(true));
    let answer =
        authorize_and_sign_in(&server, &browser(), &pairs(&query), "alice@example.com").await;
    assert!(param(&answer, "code").is_none());
    let access = AccessToken::new(param(&answer, "access_token").expect("access token").into());
    assert_eq!(param(&answer, "token_type"), Some("Bearer"));
    let id_token: CoreIdToken = param(&answer, "id_token").unwrap().parse().unwrap();
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("a valid ID token");
    let expected = AccessTokenHash::from_token(
        &access,
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));

    // code id_token: c_hash binds the code, which the crate then redeems.
    let (query, nonce) = request(
        &client,
        AuthenticationFlow::Hybrid(vec![CoreResponseType::Code, CoreResponseType::IdToken]),
    );
    let answer =
        authorize_and_sign_in(&server, &browser(), &pairs(&query), "alice@example.com").await;
    let code = param(&answer, "code").expect("a code").to_owned();
    let id_token: CoreIdToken = param(&answer, "id_token").unwrap().parse().unwrap();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("a valid ID token");
    let expected = AuthorizationCodeHash::from_code(
        &AuthorizationCode::new(code.clone()),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.code_hash(), Some(&expected));
    assert!(param(&answer, "access_token").is_none());
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .request_async(&oidc_http(no_redirects()))
        .await
        .expect("the hybrid code redeems");
    assert!(tokens.id_token().is_some());
    server.stop().await;
}
