//! Interoperability with a third-party relying party: the `openidconnect` crate discovers the
//! provider, runs code + PKCE, verifies id tokens against the JWKS, refreshes, calls userinfo
//! and does client credentials. Access tokens are checked with `jsonwebtoken` from the JWKS.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims};
use openidconnect::{
    AccessToken, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, Scope,
    TokenResponse,
};
use portico_core::directory::AppKind;
use portico_keys::SigningAlgorithm;

use crate::harness::{Backend, TestServer, authorize_and_sign_in, browser, oidc_http, param};

async fn full_flow(backend: Backend, alg: SigningAlgorithm) {
    let Some(server) = TestServer::start_with(backend, alg).await else {
        return;
    };
    let user = server.user("alice@example.com").await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let http_client = oidc_http(http.clone());

    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(server.issuer()).unwrap(),
        &http_client,
    )
    .await
    .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(server.redirect_uri()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let query: Vec<(String, String)> = auth_url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let redirect = authorize_and_sign_in(&server, &browser(), &query, "alice@example.com").await;
    assert_eq!(param(&redirect, "state"), Some(csrf.secret().as_str()));
    assert_eq!(
        param(&redirect, "iss"),
        Some(server.issuer().as_str()),
        "RFC 9207 iss"
    );
    let code = param(&redirect, "code").expect("code").to_owned();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("id token");
    let claims = id_token
        .claims(
            &client.id_token_verifier().set_allowed_algs(vec![
                openidconnect::core::CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                openidconnect::core::CoreJwsSigningAlgorithm::EcdsaP256Sha256,
                openidconnect::core::CoreJwsSigningAlgorithm::EdDsa,
            ]),
            &nonce,
        )
        .expect("id token verifies");
    assert_eq!(claims.issuer().as_str(), server.issuer());
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some("alice@example.com")
    );
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );

    // Entra-shaped claims, checked from the raw token with an independent JOSE library.
    let jwks: JwkSet = http
        .get(server.url("discovery/v2.0/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verify = |token: &str| -> serde_json::Value {
        let header = decode_header(token).unwrap();
        let jwk = jwks
            .find(header.kid.as_deref().unwrap())
            .expect("kid in JWKS");
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = Validation::new(header.alg);
        validation.validate_aud = false;
        validation.set_issuer(&[server.issuer()]);
        decode::<serde_json::Value>(token, &key, &validation)
            .unwrap()
            .claims
    };
    let id = verify(&id_token.to_string());
    assert_eq!(id["aud"], client_id.as_str());
    assert_eq!(id["oid"], user.id.to_string());
    assert_eq!(id["tid"], server.tenant.id.to_string());
    assert_eq!(id["ver"], "2.0");
    assert_eq!(id["name"], "Alice Example");
    for claim in ["sub", "iat", "nbf", "exp", "nonce", "auth_time", "sid"] {
        assert!(id.get(claim).is_some(), "id token lacks {claim}");
    }
    assert_ne!(
        id["sub"],
        user.id.to_string(),
        "sub is pairwise, not the oid"
    );
    let access_header = decode_header(tokens.access_token().secret()).unwrap();
    assert_eq!(access_header.typ.as_deref(), Some("at+jwt"));
    let access = verify(tokens.access_token().secret());
    assert_eq!(access["azp"], client_id.as_str());
    assert_eq!(access["azpacr"], "1");
    assert_eq!(access["scp"], "openid profile email");
    assert_eq!(access["ver"], "2.0");
    assert_eq!(access["sub"], id["sub"]);
    for claim in [
        "aud",
        "oid",
        "tid",
        "uti",
        "jti",
        "iat",
        "nbf",
        "exp",
        "client_id",
    ] {
        assert!(access.get(claim).is_some(), "access token lacks {claim}");
    }

    // Userinfo, through the client library.
    let info: CoreUserInfoClaims = client
        .user_info(
            AccessToken::new(tokens.access_token().secret().clone()),
            None,
        )
        .unwrap()
        .request_async(&http_client)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), id["sub"].as_str().unwrap());

    // Refresh: a new refresh token each time.
    let first_refresh = tokens
        .refresh_token()
        .expect("refresh token")
        .secret()
        .clone();
    let refreshed = client
        .exchange_refresh_token(&RefreshToken::new(first_refresh.clone()))
        .unwrap()
        .request_async(&http_client)
        .await
        .expect("refresh");
    let second_refresh = refreshed.refresh_token().expect("rotated").secret().clone();
    assert_ne!(first_refresh, second_refresh, "refresh tokens rotate");
    assert!(refreshed.id_token().is_some());

    // Client credentials with the Entra-style `.default` scope.
    let (daemon_id, daemon_secret) = server.app(AppKind::Daemon).await;
    let daemon = CoreClient::from_provider_metadata(
        CoreProviderMetadata::discover_async(
            IssuerUrl::new(server.issuer()).unwrap(),
            &http_client,
        )
        .await
        .unwrap(),
        ClientId::new(daemon_id.clone()),
        Some(ClientSecret::new(daemon_secret.unwrap())),
    );
    let app_token = daemon
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new(format!("api://{client_id}/.default")))
        .request_async(&http_client)
        .await
        .expect("client credentials");
    let app_claims = verify(app_token.access_token().secret());
    assert_eq!(app_claims["aud"], client_id.as_str());
    assert_eq!(app_claims["azp"], daemon_id.as_str());
    assert!(app_claims.get("scp").is_none());
    server.stop().await;
}

#[tokio::test]
async fn openidconnect_client_full_flow_sqlite_rs256() {
    full_flow(Backend::Sqlite, SigningAlgorithm::Rs256).await;
}

#[tokio::test]
async fn openidconnect_client_full_flow_postgres_rs256() {
    full_flow(Backend::Postgres, SigningAlgorithm::Rs256).await;
}

#[tokio::test]
async fn openidconnect_client_full_flow_es256() {
    full_flow(Backend::Sqlite, SigningAlgorithm::Es256).await;
}

#[tokio::test]
async fn openidconnect_client_full_flow_eddsa() {
    full_flow(Backend::Sqlite, SigningAlgorithm::EdDsa).await;
}

/// MSAL sends `client_info=1` and reads `client_info` (base64url `{"uid","utid"}`) back.
#[tokio::test]
async fn client_info_is_returned_when_asked() {
    use base64::Engine as _;
    let server = TestServer::start().await;
    let user = server.user("bob@example.com").await;
    let (client_id, _) = server.app(AppKind::Spa).await;
    let (verifier, challenge) = crate::harness::pkce();
    let redirect_uri = server.redirect_uri();
    let redirect = authorize_and_sign_in(
        &server,
        &browser(),
        &[
            ("client_id", &client_id),
            ("response_type", "code"),
            ("redirect_uri", &redirect_uri),
            ("scope", "openid profile offline_access"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("client_info", "1"),
        ],
        "bob@example.com",
    )
    .await;
    let response: serde_json::Value = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", param(&redirect, "code").unwrap()),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &verifier),
            ("client_info", "1"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(response["token_type"], "Bearer");
    assert!(response["ext_expires_in"].is_number());
    let info = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(response["client_info"].as_str().expect("client_info"))
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(info["uid"], user.id.to_string());
    assert_eq!(info["utid"], server.tenant.id.to_string());
    server.stop().await;
}
