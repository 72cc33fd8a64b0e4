//! DPoP bindings beyond the access token (RFC 9449 §5, §10): a code bound to a key by
//! `dpop_jkt` or by a proof on PAR goes only to a proof of that key, and a public client's
//! refresh-token family, once bound, refreshes only with it.

use portico_core::directory::{AppChanges, AppKind, TenantRef};
use serde_json::Value;

use crate::dpop::{Prover, code, nonce, only_the_key_holder_passes, token_with_proof};
use crate::harness::{TestServer, authorize_and_sign_in, browser, param, pkce};

/// A sign-in for `client_id` with `extra` authorization parameters; the code and verifier.
async fn code_with(
    server: &TestServer,
    client_id: &str,
    extra: &[(&str, &str)],
) -> (String, String) {
    let (verifier, challenge) = pkce();
    let redirect_uri = server.redirect_uri();
    let mut query = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri.as_str()),
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    query.extend_from_slice(extra);
    let params = authorize_and_sign_in(server, &browser(), &query, "alice@example.com").await;
    (param(&params, "code").expect("a code").to_owned(), verifier)
}

#[tokio::test]
async fn a_code_bound_to_a_key_goes_only_to_a_proof_of_that_key() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, _) = server.app(AppKind::Native).await;
    let prover = Prover::new();
    let thief = Prover::new();
    let token_uri = server.url("oauth2/v2.0/token");
    let nonce = nonce(&server, &prover).await;
    let jkt = prover.thumbprint();
    let redirect_uri = server.redirect_uri();
    let redeem = |code: String, verifier: String, proof: Option<String>| {
        let server = &server;
        let client_id = client_id.clone();
        let redirect_uri = redirect_uri.clone();
        async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("client_id", client_id.as_str()),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri.as_str()),
                ("code_verifier", verifier.as_str()),
            ];
            let proofs: Vec<&str> = proof.iter().map(String::as_str).collect();
            token_with_proof(server, &form, &proofs).await
        }
    };
    // dpop_jkt on the authorization request: a stolen code is useless without the key.
    let (code, verifier) = code_with(&server, &client_id, &[("dpop_jkt", &jkt)]).await;
    let stolen = thief.proof("POST", &token_uri, Some(&nonce), None);
    let (status, body, _) = redeem(code, verifier, Some(stolen)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
    let (code, verifier) = code_with(&server, &client_id, &[("dpop_jkt", &jkt)]).await;
    let (status, body, _) = redeem(code, verifier, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
    let (code, verifier) = code_with(&server, &client_id, &[("dpop_jkt", &jkt)]).await;
    let own = prover.proof("POST", &token_uri, Some(&nonce), None);
    let (status, body, _) = redeem(code, verifier, Some(own)).await;
    assert_eq!(
        (status, body["token_type"].as_str()),
        (200, Some("DPoP")),
        "{body}"
    );
    // A request pushed with a proof binds its code the same way (RFC 9449 §10.1).
    let par_uri = server.url("oauth2/v2.0/par");
    let (verifier, challenge) = pkce();
    let pushed: Value = reqwest::Client::new()
        .post(&par_uri)
        .header("DPoP", prover.proof("POST", &par_uri, Some(&nonce), None))
        .form(&[
            ("client_id", client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri.as_str()),
            ("scope", "openid"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request_uri = pushed["request_uri"].as_str().expect("a request_uri");
    let params = authorize_and_sign_in(
        &server,
        &browser(),
        &[
            ("client_id", client_id.as_str()),
            ("request_uri", request_uri),
        ],
        "alice@example.com",
    )
    .await;
    let code = param(&params, "code").unwrap().to_owned();
    let stolen = thief.proof("POST", &token_uri, Some(&nonce), None);
    let (status, body, _) = redeem(code, verifier, Some(stolen)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
    // A pushed dpop_jkt that names another key than the proof is refused.
    let (status, body) = {
        let response = reqwest::Client::new()
            .post(&par_uri)
            .header("DPoP", prover.proof("POST", &par_uri, Some(&nonce), None))
            .form(&[
                ("client_id", client_id.as_str()),
                ("response_type", "code"),
                ("redirect_uri", redirect_uri.as_str()),
                ("scope", "openid"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("dpop_jkt", thief.thumbprint().as_str()),
            ])
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_public_clients_bearer_family_is_bound_by_its_first_proof() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, _) = server.app(AppKind::Native).await;
    let (code, verifier) = code(&server, &client_id).await;
    let redirect_uri = server.redirect_uri();
    let (status, tokens, _) = token_with_proof(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ],
        &[],
    )
    .await;
    assert_eq!(
        (status, tokens["token_type"].as_str()),
        (200, Some("Bearer"))
    );
    let prover = Prover::new();
    let nonce = nonce(&server, &prover).await;
    let token_uri = server.url("oauth2/v2.0/token");
    let refresh = |token: &Value| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", client_id.clone()),
            (
                "refresh_token",
                token["refresh_token"].as_str().unwrap().to_owned(),
            ),
        ]
    };
    let form = refresh(&tokens);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, bound, _) = token_with_proof(
        &server,
        &form,
        &[&prover.proof("POST", &token_uri, Some(&nonce), None)],
    )
    .await;
    assert_eq!(
        (status, bound["token_type"].as_str()),
        (200, Some("DPoP")),
        "{bound}"
    );
    // From now on the family is bound: without the key, nothing.
    let form = refresh(&bound);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = only_the_key_holder_passes(&server, &form, &prover, &nonce).await;
    assert_eq!(status, 200, "the owner still refreshes: {body}");
    // An app that requires DPoP cannot also take tokens that travel without a proof.
    let refused = server
        .portico()
        .update_application(
            &TenantRef::Id(server.tenant.id),
            client_id.parse().unwrap(),
            AppChanges {
                require_dpop: Some(true),
                native_auth: Some(true),
                ..AppChanges::default()
            },
        )
        .await;
    assert!(refused.is_err(), "native auth with DPoP required");
    server.stop().await;
}
