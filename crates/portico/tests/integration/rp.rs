//! A relying party built with the `openidconnect` crate (a confidential web client configured
//! from discovery), and an API's view of the tokens it gets (signature checked against the
//! JWKS with `jsonwebtoken`).

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    RedirectUrl, Scope,
};
use serde_json::Value;

use crate::harness::{TestServer, oidc_http};

/// Verifies a token's signature against the tenant's JWKS, as an API would; returns claims.
pub async fn verified_claims(server: &TestServer, token: &str) -> Value {
    let jwks: JwkSet = reqwest::get(server.url("discovery/v2.0/keys"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = decode_header(token).unwrap();
    let key = DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.validate_aud = false;
    validation.set_issuer(&[server.issuer()]);
    decode::<Value>(token, &key, &validation).unwrap().claims
}

/// The client type `openidconnect` builds from discovery.
pub type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// A confidential web client configured by the `openidconnect` crate from discovery.
pub async fn oidc_client(server: &TestServer, client_id: &str, secret: &str) -> Client {
    let http = oidc_http(no_redirects());
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.issuer()).unwrap(), &http)
            .await
            .unwrap();
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.to_owned()),
        Some(ClientSecret::new(secret.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(server.redirect_uri()).unwrap())
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The query of the crate's code + PKCE request for `scopes` (besides `openid`), and the
/// verifier.
pub fn auth_query(
    client: &Client,
    scopes: &[&str],
) -> (Vec<(String, String)>, openidconnect::PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    let (url, _, _) = request.set_pkce_challenge(challenge).url();
    let query = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (query, verifier)
}

pub fn pairs(query: &[(String, String)]) -> Vec<(&str, &str)> {
    query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Signs `email` in through the pages for `scopes` (besides `openid`) and redeems the code
/// with the crate: the token response.
pub async fn sign_in(
    server: &TestServer,
    client: &Client,
    scopes: &[&str],
    email: &str,
) -> openidconnect::core::CoreTokenResponse {
    let (query, verifier) = auth_query(client, scopes);
    let redirect = crate::harness::authorize_and_sign_in(
        server,
        &crate::harness::browser(),
        &pairs(&query),
        email,
    )
    .await;
    let code = crate::harness::param(&redirect, "code").expect("a code");
    client
        .exchange_code(openidconnect::AuthorizationCode::new(code.to_owned()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&oidc_http(no_redirects()))
        .await
        .expect("code exchange")
}
