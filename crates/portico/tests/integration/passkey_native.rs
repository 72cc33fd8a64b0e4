//! Passkeys over the native API (beyond Entra): a client that lists the `passkey` challenge
//! type gets the WebAuthn request options for an account with a passkey and answers with the
//! `passkey` grant; one that does not never sees passkeys. The attacks: a replayed answer,
//! a forged signature, another relying party, another account's passkey, and an
//! authenticator model the tenant does not allow.

use portico_core::directory::{SignInMethod, UserFlowConfig};

use crate::harness::{TestServer, verified_claims};
use crate::native_auth::{assert_tokens, call, ct, native_app, token};
use crate::page::flow_for;
use crate::passkeys::{SoftKey, enrol, grant_fields, localhost_origin, localhost_relying_party};

/// A native app whose flow offers passwords and passkeys, and alice (password) with a passkey.
async fn setup() -> (TestServer, String, SoftKey) {
    let server = TestServer::start().await;
    localhost_relying_party(&server, |_| {}).await;
    server.user("alice@example.com").await;
    server.user("bob@example.com").await;
    let app = native_app(&server).await;
    flow_for(
        &server,
        &app,
        UserFlowConfig {
            methods: vec![SignInMethod::Password, SignInMethod::Passkey],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let mut key = SoftKey::new(&localhost_origin(&server), true, false);
    enrol(&server, &mut key, "alice@example.com").await;
    (server, app, key)
}

/// initiate + challenge as `username`, listing `types`: the challenge's answer.
async fn challenged(
    server: &TestServer,
    app: &str,
    username: &str,
    types: &str,
) -> serde_json::Value {
    let (status, initiated) = call(
        server,
        "oauth2/v2.0/initiate",
        &[
            ("client_id", app),
            ("username", username),
            ("challenge_type", types),
        ],
    )
    .await;
    assert_eq!(status, 200, "{initiated}");
    let (status, challenged) = call(
        server,
        "oauth2/v2.0/challenge",
        &[
            ("client_id", app),
            ("continuation_token", ct(&initiated)),
            ("challenge_type", types),
        ],
    )
    .await;
    assert_eq!(status, 200, "{challenged}");
    challenged
}

async fn redeem(
    server: &TestServer,
    app: &str,
    challenged: &serde_json::Value,
    answer: &str,
) -> (u16, serde_json::Value) {
    let fields = grant_fields(answer);
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "passkey"),
        ("continuation_token", ct(challenged)),
    ];
    form.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    token(server, app, &form).await
}

#[tokio::test]
async fn a_native_client_signs_in_with_a_passkey_challenge_and_grant() {
    let (server, app, mut key) = setup().await;
    let challenged = challenged(
        &server,
        &app,
        "alice@example.com",
        "password passkey redirect",
    )
    .await;
    assert_eq!(challenged["challenge_type"], "passkey", "{challenged}");
    let options = &challenged["passkey_options"];
    assert_eq!(options["rpId"], "localhost");
    assert_eq!(options["userVerification"], "required");
    let answer = key.sign_in(options).await.unwrap();
    let (status, tokens) = redeem(&server, &app, &challenged, &answer).await;
    assert_eq!(status, 200, "{tokens}");
    assert_tokens(&server, &tokens).await;
    let id = verified_claims(&server, tokens["id_token"].as_str().unwrap()).await;
    assert!(
        id["amr"].as_array().unwrap().contains(&"mfa".into()),
        "{id}"
    );

    // A client that does not list passkeys is asked for the password, as before.
    let challenged = challenged_without_passkeys(&server, &app).await;
    assert_eq!(challenged["challenge_type"], "password");
    server.stop().await;
}

async fn challenged_without_passkeys(server: &TestServer, app: &str) -> serde_json::Value {
    challenged(server, app, "alice@example.com", "password redirect").await
}

#[tokio::test]
async fn replayed_forged_foreign_and_borrowed_passkey_answers_get_invalid_grant() {
    let (server, app, mut key) = setup().await;
    let first = challenged(&server, &app, "alice@example.com", "passkey redirect").await;
    let answer = key.sign_in(&first["passkey_options"]).await.unwrap();
    assert_eq!(redeem(&server, &app, &first, &answer).await.0, 200);

    // Replay: the same answer on a new challenge (its ceremony was spent).
    let second = challenged(&server, &app, "alice@example.com", "passkey redirect").await;
    let (status, body) = redeem(&server, &app, &second, &answer).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    // A forged signature.
    let third = challenged(&server, &app, "alice@example.com", "passkey redirect").await;
    let good = key.sign_in(&third["passkey_options"]).await.unwrap();
    let mut forged: serde_json::Value = serde_json::from_str(&good).unwrap();
    let signature = forged["response"]["signature"].as_str().unwrap().to_owned();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    forged["response"]["signature"] = format!("{flipped}{}", &signature[1..]).into();
    let (status, body) = redeem(&server, &app, &third, &forged.to_string()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    // An authenticator that signs for another relying party (what a phishing site asks).
    let fourth = challenged(&server, &app, "alice@example.com", "passkey redirect").await;
    let mut options = fourth["passkey_options"].clone();
    options["rpId"] = "evil.example".into();
    let mut forger = key.forging_relying_party("https://login.evil.example");
    let answer = forger.sign_in(&options).await.unwrap();
    let (status, body) = redeem(&server, &app, &fourth, &answer).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    // Bob's passkey on alice's challenge.
    let mut bobs = SoftKey::new(&localhost_origin(&server), true, false);
    enrol(&server, &mut bobs, "bob@example.com").await;
    let fifth = challenged(&server, &app, "alice@example.com", "passkey redirect").await;
    let answer = bobs.sign_in(&fifth["passkey_options"]).await.unwrap();
    let (status, body) = redeem(&server, &app, &fifth, &answer).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_authenticator_model_the_tenant_does_not_allow_cannot_register() {
    let server = TestServer::start().await;
    localhost_relying_party(&server, |policy| {
        policy.attestation = portico_core::passkeys::Attestation::Direct;
        policy.aaguid_allow = vec!["cb69481e-8ff7-4039-93ec-0a2729a154a8".parse().unwrap()];
    })
    .await;
    let user = server.user("alice@example.com").await;
    let mut key = SoftKey::new(&localhost_origin(&server), true, false);
    let portico = server.portico();
    let options = portico
        .begin_passkey_registration(&server.tenant, &user, "page")
        .await
        .unwrap();
    assert_eq!(options.public_key["attestation"], "direct");
    let response = key.register(&options.public_key).await.unwrap();
    let refused = portico
        .finish_passkey_registration(
            &server.tenant,
            &user,
            "page",
            &options.challenge_id,
            &response,
            None,
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(portico_core::passkeys::PasskeyError::AuthenticatorNotAllowed)
        ),
        "{refused:?}"
    );
    assert!(
        portico
            .passkeys(&server.tenant, &user)
            .await
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}
