//! DPoP (RFC 9449): proofs made with `jsonwebtoken` (a third-party JOSE library) bind a
//! public client's tokens to its key, and the ways around it are refused: a stolen access
//! token used as a bearer token or with another key, a stolen refresh token without the key,
//! a replayed proof, a proof for another method or URI, an old one, one without the server's
//! nonce, one carrying a private or symmetric key.

use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use portico_core::directory::{AppChanges, AppKind, TenantRef};
use serde_json::{Value, json};

use crate::harness::{TestServer, authorize_and_sign_in, browser, param, pkce, verified_claims};
use crate::private_key_jwt::es256_key;

/// A client's DPoP key: it signs proofs for requests.
pub(crate) struct Prover {
    key: EncodingKey,
    pub(crate) jwk: Jwk,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Prover {
    pub(crate) fn new() -> Self {
        let (key, mut jwk) = es256_key();
        jwk.common.key_id = None;
        Self { key, jwk }
    }

    pub(crate) fn thumbprint(&self) -> String {
        self.jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
    }

    /// A proof with these claims and the usual header.
    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        encode(&header, claims, &self.key).unwrap()
    }

    /// A fresh proof for `method` on `uri`, with a server nonce and an access token's hash
    /// when given.
    pub(crate) fn proof(
        &self,
        method: &str,
        uri: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> String {
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": method,
            "htu": uri,
            "iat": now(),
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        if let Some(token) = access_token {
            claims["ath"] = portico_core::secret::sha256_b64(token.as_bytes()).into();
        }
        self.sign(&claims)
    }
}

/// POSTs a token request with `proof` as the DPoP header; the status, body and the nonce
/// the server sent.
pub(crate) async fn token_with_proof(
    server: &TestServer,
    form: &[(&str, &str)],
    proofs: &[&str],
) -> (u16, Value, Option<String>) {
    let mut request = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/token"))
        .form(form);
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    let response = request.send().await.unwrap();
    let nonce = response
        .headers()
        .get("dpop-nonce")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        response.status().as_u16(),
        response.json().await.unwrap(),
        nonce,
    )
}

/// Sends `form` to the token endpoint without a proof, and with a thief's proof (each must be
/// refused as `invalid_dpop_proof`), then with `owner`'s: its status and answer.
pub(crate) async fn only_the_key_holder_passes(
    server: &TestServer,
    form: &[(&str, &str)],
    owner: &Prover,
    nonce: &str,
) -> (u16, Value) {
    let token_uri = server.url("oauth2/v2.0/token");
    let thief = Prover::new();
    for proofs in [
        Vec::new(),
        vec![thief.proof("POST", &token_uri, Some(nonce), None)],
    ] {
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let (status, body, _) = token_with_proof(server, form, &proofs).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_dpop_proof")),
            "without the key ({} proofs): {body}",
            proofs.len()
        );
    }
    let (status, body, _) = token_with_proof(
        server,
        form,
        &[&owner.proof("POST", &token_uri, Some(nonce), None)],
    )
    .await;
    (status, body)
}

/// The server's current nonce: what a proof without one is answered with.
pub(crate) async fn nonce(server: &TestServer, prover: &Prover) -> String {
    let token_uri = server.url("oauth2/v2.0/token");
    let (status, body, nonce) = token_with_proof(
        server,
        &[("grant_type", "client_credentials")],
        &[&prover.proof("POST", &token_uri, None, None)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("use_dpop_nonce"))
    );
    nonce.expect("a DPoP-Nonce header")
}

/// Calls userinfo with `authorization` and, if given, a DPoP proof.
async fn userinfo(server: &TestServer, authorization: &str, proof: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .get(server.url("oidc/userinfo"))
        .header("Authorization", authorization);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    let response = request.send().await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), challenge)
}

/// A native app's code, fresh from a sign-in, and its verifier.
pub(crate) async fn code(server: &TestServer, client_id: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let params = authorize_and_sign_in(
        server,
        &browser(),
        &[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", &server.redirect_uri()),
            ("scope", "openid profile offline_access"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
        "alice@example.com",
    )
    .await;
    (param(&params, "code").unwrap().to_owned(), verifier)
}

#[tokio::test]
async fn dpop_binds_a_public_clients_tokens_to_its_key() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, _) = server.app(AppKind::Native).await;
    let prover = Prover::new();
    let token_uri = server.url("oauth2/v2.0/token");
    let (code, verifier) = code(&server, &client_id).await;
    let redirect_uri = server.redirect_uri();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    // Without the server's nonce: refused, with one to use; the code is not spent.
    let (status, body, nonce) = token_with_proof(
        &server,
        &form,
        &[&prover.proof("POST", &token_uri, None, None)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("use_dpop_nonce")),
        "{body}"
    );
    let nonce = nonce.expect("a DPoP-Nonce header");
    let (status, tokens, _) = token_with_proof(
        &server,
        &form,
        &[&prover.proof("POST", &token_uri, Some(&nonce), None)],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access = tokens["access_token"].as_str().unwrap();
    let claims = verified_claims(&server, access).await;
    assert_eq!(claims["cnf"]["jkt"], prover.thumbprint().as_str());

    // At the resource: only with a proof of the key, made for this request and this token.
    let userinfo_uri = server.url("oidc/userinfo");
    let dpop = format!("DPoP {access}");
    let good = prover.proof("GET", &userinfo_uri, None, Some(access));
    assert_eq!(userinfo(&server, &dpop, Some(&good)).await.0, 200);
    let (status, challenge) = userinfo(&server, &dpop, Some(&good)).await;
    assert_eq!(status, 401, "a replayed proof");
    assert!(
        challenge.starts_with("DPoP error=\"invalid_dpop_proof\""),
        "{challenge}"
    );
    assert_eq!(
        userinfo(&server, &format!("Bearer {access}"), None).await.0,
        401,
        "a stolen bound token used as a bearer token"
    );
    let thief = Prover::new();
    assert_eq!(
        userinfo(
            &server,
            &dpop,
            Some(&thief.proof("GET", &userinfo_uri, None, Some(access)))
        )
        .await
        .0,
        401,
        "a stolen bound token with the thief's own key"
    );
    for (method, uri, token) in [
        ("POST", userinfo_uri.as_str(), access),
        ("GET", token_uri.as_str(), access),
        ("GET", userinfo_uri.as_str(), "another-token"),
    ] {
        assert_eq!(
            userinfo(
                &server,
                &dpop,
                Some(&prover.proof(method, uri, None, Some(token)))
            )
            .await
            .0,
            401,
            "a proof for {method} {uri} or another token"
        );
    }

    // The refresh token is bound too: a thief without the key gets nothing, and its owner
    // keeps a working token.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("client_id", client_id.as_str()),
        ("refresh_token", refresh),
    ];
    let (status, refreshed) =
        only_the_key_holder_passes(&server, &refresh_form, &prover, &nonce).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["token_type"], "DPoP");
    let claims = verified_claims(&server, refreshed["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["cnf"]["jkt"], prover.thumbprint().as_str());

    // Discovery names the algorithms proofs may use.
    let discovery: Value = reqwest::get(server.url("v2.0/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        discovery["dpop_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("ES256"))
    );
    server.stop().await;
}

#[tokio::test]
async fn proofs_that_break_the_rules_are_refused() {
    let server = TestServer::start().await;
    let prover = Prover::new();
    let token_uri = server.url("oauth2/v2.0/token");
    let nonce = nonce(&server, &prover).await;
    let form = [("grant_type", "client_credentials")];
    let refused = |body: &Value| body["error"].as_str().map(str::to_owned);
    let claims = |extra: Value| {
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": "POST",
            "htu": token_uri,
            "iat": now(),
            "nonce": nonce,
        });
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        claims
    };
    // A valid proof from nobody in particular is not spent: no write for an unknown
    // client. From a client, it gets past DPoP to the grant (here a made-up code), and is
    // spent: a replay is refused.
    let good = prover.sign(&claims(json!({})));
    let (_, body, _) = token_with_proof(&server, &form, &[&good]).await;
    assert_ne!(
        refused(&body).as_deref(),
        Some("invalid_dpop_proof"),
        "{body}"
    );
    let (client_id, _) = server.app(AppKind::Native).await;
    let redeem = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id.as_str()),
        ("code", "made-up"),
        ("redirect_uri", "https://app.example/cb"),
        ("code_verifier", "v"),
    ];
    let (_, body, _) = token_with_proof(&server, &redeem, &[&good]).await;
    assert_eq!(refused(&body).as_deref(), Some("invalid_grant"), "{body}");
    let (_, body, _) = token_with_proof(&server, &redeem, &[&good]).await;
    assert_eq!(
        refused(&body).as_deref(),
        Some("invalid_dpop_proof"),
        "replayed: {body}"
    );

    let mut cases: Vec<(&str, String)> = vec![
        (
            "another method",
            prover.sign(&claims(json!({"htm": "GET"}))),
        ),
        (
            "another URI",
            prover.sign(&claims(json!({"htu": server.url("oauth2/v2.0/par")}))),
        ),
        (
            "an old proof",
            prover.sign(&claims(json!({"iat": now() - 300}))),
        ),
        (
            "a proof from the future",
            prover.sign(&claims(json!({"iat": now() + 300}))),
        ),
        ("no jti", prover.sign(&claims(json!({"jti": ""})))),
        (
            "a forged nonce",
            prover.sign(&claims(json!({"nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}))),
        ),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    // The wrong typ, and a header key that holds its private half.
    let mut wrong_typ = Header::new(Algorithm::ES256);
    wrong_typ.typ = Some("JWT".into());
    wrong_typ.jwk = Some(prover.jwk.clone());
    cases.push((
        "typ JWT",
        encode(&wrong_typ, &claims(json!({})), &prover.key).unwrap(),
    ));
    let signed = prover.sign(&claims(json!({})));
    let mut parts: Vec<String> = signed.split('.').map(str::to_owned).collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut header: Value = serde_json::from_slice(&b64.decode(&parts[0]).unwrap()).unwrap();
    header["jwk"]["d"] = "c2VjcmV0".into();
    parts[0] = b64.encode(header.to_string());
    cases.push(("a private key in the header", parts.join(".")));
    // HS256 keyed with something public: the classic confusion.
    let mut symmetric = Header::new(Algorithm::HS256);
    symmetric.typ = Some("dpop+jwt".into());
    symmetric.jwk = Some(prover.jwk.clone());
    cases.push((
        "HS256",
        encode(
            &symmetric,
            &claims(json!({})),
            &EncodingKey::from_secret(b"public"),
        )
        .unwrap(),
    ));
    for (what, proof) in &cases {
        let (status, body, _) = token_with_proof(&server, &form, &[proof]).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert!(
            matches!(
                refused(&body).as_deref(),
                Some("invalid_dpop_proof" | "use_dpop_nonce")
            ),
            "{what}: {body}"
        );
    }
    let (_, body, _) = token_with_proof(
        &server,
        &form,
        &[
            &prover.sign(&claims(json!({}))),
            &prover.sign(&claims(json!({}))),
        ],
    )
    .await;
    assert_eq!(
        refused(&body).as_deref(),
        Some("invalid_dpop_proof"),
        "two DPoP headers"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_app_that_requires_dpop_gets_no_bearer_token() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, _) = server.app(AppKind::Native).await;
    server
        .portico()
        .update_application(
            &TenantRef::Id(server.tenant.id),
            client_id.parse().unwrap(),
            AppChanges {
                require_dpop: Some(true),
                ..AppChanges::default()
            },
        )
        .await
        .unwrap();
    let (code, verifier) = code(&server, &client_id).await;
    let redirect_uri = server.redirect_uri();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, body, _) = token_with_proof(&server, &form, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
    let prover = Prover::new();
    let nonce = nonce(&server, &prover).await;
    let (status, body, _) = token_with_proof(
        &server,
        &form,
        &[&prover.proof("POST", &server.url("oauth2/v2.0/token"), Some(&nonce), None)],
    )
    .await;
    assert_eq!(
        status, 200,
        "the code was not spent by the refused request: {body}"
    );
    assert_eq!(body["token_type"], "DPoP");
    server.stop().await;
}

#[tokio::test]
async fn openid_client_uses_dpop_for_a_public_client() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, _) = server.app(AppKind::Native).await;
    let (verifier, challenge) = pkce();
    let browser = browser();
    let page = browser
        .get(server.url("oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", &server.redirect_uri()),
            ("scope", "openid profile offline_access"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    let redirect = crate::harness::submit_sign_in(
        &server,
        &browser,
        &html,
        "alice@example.com",
        crate::harness::PASSWORD,
    )
    .await;
    let callback = redirect.headers()["location"].to_str().unwrap().to_owned();
    let args = vec![server.issuer(), client_id, callback, verifier];
    // The library blocks on its own HTTP calls: off the test's runtime threads.
    let Some(out) =
        tokio::task::spawn_blocking(move || crate::node::openid_client("dpop_client.mjs", &args))
            .await
            .unwrap()
    else {
        return;
    };
    // The library accepted DPoP-bound tokens (it reports the type in lower case).
    for kind in ["token_type", "refreshed_token_type"] {
        assert!(
            out[kind]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("dpop")),
            "{out}"
        );
    }
    assert_eq!(out["userinfo"]["preferred_username"], "alice@example.com");
    for token in ["access_token", "refreshed_access_token"] {
        let claims = verified_claims(&server, out[token].as_str().unwrap()).await;
        assert!(
            claims["cnf"]["jkt"].as_str().is_some_and(|j| j.len() == 43),
            "{claims}"
        );
    }
    server.stop().await;
}
