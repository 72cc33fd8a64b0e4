//! Token exchange (RFC 8693): a gateway trades a user's token for the front API for one to
//! the Orders API, only as the Orders API's policy allows: acting for the user (delegation,
//! `act` names the gateway) or, where allowed, as them (impersonation). Tokens are checked
//! against the JWKS as the Orders API would.

use portico_core::directory::AppKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_access::Admin;
use crate::harness::{TestServer, token_request};
use crate::rp::{oidc_client, sign_in, verified_claims};

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

struct Setup {
    server: TestServer,
    admin: Admin,
    front: String,
    orders: String,
    gateway: String,
    gateway_secret: String,
    user_token: String,
}

/// The front API (`api://front`), the Orders API, a gateway granted Orders.Read, and alice's
/// token for the front API (from a sign-in on the pages, redeemed by the `openidconnect`
/// crate).
async fn setup() -> Setup {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let admin = Admin::new(&server).await;
    let (front, _) = server.app(AppKind::Web).await;
    let (orders, _) = server.app(AppKind::Web).await;
    let (gateway, gateway_secret) = server.app(AppKind::Web).await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    let (status, _) = admin
        .send(
            reqwest::Method::PUT,
            &format!("/{front}/api"),
            json!({"identifier_uri": "api://front", "scopes": [{"name": "Access"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    admin.expose_orders(&orders).await;
    admin.grant(&client_id, &front, &["Access"], &[]).await;
    admin.grant(&gateway, &orders, &["Orders.Read"], &[]).await;
    let client = oidc_client(&server, &client_id, &secret.unwrap()).await;
    let tokens = sign_in(
        &server,
        &client,
        &["api://front/Access"],
        "alice@example.com",
    )
    .await;
    use openidconnect::OAuth2TokenResponse;
    let user_token = tokens.access_token().secret().clone();
    Setup {
        server,
        admin,
        front,
        orders,
        gateway,
        gateway_secret: gateway_secret.unwrap(),
        user_token,
    }
}

impl Setup {
    /// The Orders API's policy: the gateway may exchange front-API tokens.
    async fn allow(&self, impersonation: bool) {
        let (status, body) = self
            .admin
            .send(
                reqwest::Method::PUT,
                &format!("/{}/api", self.orders),
                json!({
                    "identifier_uri": "api://orders",
                    "scopes": [{"name": "Orders.Read"}],
                    "token_exchange": [{
                        "client_id": self.gateway,
                        "subject_audience": self.front,
                        "impersonation": impersonation
                    }]
                }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["api"]["token_exchange"][0]["client_id"],
            self.gateway.as_str()
        );
    }

    /// The gateway's own app token (its actor token).
    async fn gateway_token(&self) -> String {
        let (_, body) = token_request(
            &self.server,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &self.gateway),
                ("client_secret", &self.gateway_secret),
                ("scope", &format!("{}/.default", self.gateway)),
            ],
        )
        .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A token exchange by the gateway.
    async fn exchange(&self, extra: &[(&str, &str)]) -> (u16, Value) {
        let mut form = vec![
            ("grant_type", EXCHANGE),
            ("client_id", self.gateway.as_str()),
            ("client_secret", self.gateway_secret.as_str()),
            ("subject_token", self.user_token.as_str()),
            ("subject_token_type", ACCESS_TOKEN),
            ("scope", "api://orders/Orders.Read"),
        ];
        form.extend_from_slice(extra);
        token_request(&self.server, &form).await
    }
}

#[tokio::test]
async fn a_gateway_acts_for_the_user_only_as_the_target_apis_policy_allows() {
    let s = setup().await;
    let grants = |s: &Setup| {
        let url = s.server.url("v2.0/.well-known/openid-configuration");
        async move {
            let metadata: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            metadata["grant_types_supported"].clone()
        }
    };
    assert!(
        !grants(&s)
            .await
            .as_array()
            .unwrap()
            .contains(&Value::from(EXCHANGE)),
        "no policy: not advertised"
    );
    // No policy yet: the gateway may not exchange at all.
    let (status, body) = s.exchange(&[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{body}"
    );
    s.allow(false).await;
    assert!(
        grants(&s)
            .await
            .as_array()
            .unwrap()
            .contains(&Value::from(EXCHANGE))
    );
    // Delegation only: without its own token as actor, refused.
    let (_, body) = s.exchange(&[]).await;
    assert_eq!(body["error"], "invalid_request", "{body}");
    let actor = s.gateway_token().await;
    let (status, body) = s
        .exchange(&[("actor_token", &actor), ("actor_token_type", ACCESS_TOKEN)])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none());
    let subject = verified_claims(&s.server, &s.user_token).await;
    let issued = verified_claims(&s.server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(issued["aud"], s.orders.as_str());
    assert_eq!(issued["oid"], subject["oid"], "still the user");
    assert_eq!(issued["scp"], "Orders.Read");
    assert_eq!(
        issued["act"]["client_id"],
        s.gateway.as_str(),
        "names who acts"
    );
    // Impersonation allowed: a token as if the user asked, with no `act`.
    s.allow(true).await;
    let (status, body) = s.exchange(&[]).await;
    assert_eq!(status, 200, "{body}");
    let issued = verified_claims(&s.server, body["access_token"].as_str().unwrap()).await;
    assert!(issued.get("act").is_none());
    s.server.stop().await;
}

#[tokio::test]
async fn exchanges_the_policy_does_not_name_are_refused() {
    let s = setup().await;
    s.allow(true).await;
    // Another confidential app, not named by the policy.
    let (other, other_secret) = s.server.app(AppKind::Web).await;
    s.admin
        .grant(&other, &s.orders, &["Orders.Read"], &[])
        .await;
    let (_, body) = token_request(
        &s.server,
        &[
            ("grant_type", EXCHANGE),
            ("client_id", &other),
            ("client_secret", other_secret.as_deref().unwrap()),
            ("subject_token", &s.user_token),
            ("subject_token_type", ACCESS_TOKEN),
            ("scope", "api://orders/Orders.Read"),
        ],
    )
    .await;
    assert_eq!(body["error"], "unauthorized_client", "{body}");
    // A subject token for another app than the policy names (the gateway's own app token):
    // refused before the token is even checked.
    let actor = s.gateway_token().await;
    let (_, body) = token_request(
        &s.server,
        &[
            ("grant_type", EXCHANGE),
            ("client_id", &s.gateway),
            ("client_secret", &s.gateway_secret),
            ("subject_token", &actor),
            ("subject_token_type", ACCESS_TOKEN),
            ("scope", "api://orders/Orders.Read"),
        ],
    )
    .await;
    assert_eq!(
        body["error"], "unauthorized_client",
        "the policy names no such subject audience: {body}"
    );
    // No target, an unknown one, or an audience that names another API than the scope.
    for extra in [
        vec![("scope", "openid")],
        vec![("audience", s.front.as_str())],
        vec![("resource", "api://nowhere")],
    ] {
        let mut form = vec![
            ("grant_type", EXCHANGE),
            ("client_id", s.gateway.as_str()),
            ("client_secret", s.gateway_secret.as_str()),
            ("subject_token", s.user_token.as_str()),
            ("subject_token_type", ACCESS_TOKEN),
        ];
        if !extra.iter().any(|(k, _)| *k == "scope") {
            form.push(("scope", "api://orders/Orders.Read"));
        }
        form.extend(extra.iter().copied());
        let (_, body) = token_request(&s.server, &form).await;
        assert_eq!(body["error"], "invalid_target", "{extra:?}: {body}");
    }
    // Malformed: a wrong token type, a refresh token asked for, a forged subject.
    let (_, body) = s
        .exchange(&[(
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:refresh_token",
        )])
        .await;
    assert_eq!(body["error"], "invalid_request");
    let mut forged = s.user_token.clone();
    forged.pop();
    forged.push(if s.user_token.ends_with('A') {
        'B'
    } else {
        'A'
    });
    let (_, body) = token_request(
        &s.server,
        &[
            ("grant_type", EXCHANGE),
            ("client_id", &s.gateway),
            ("client_secret", &s.gateway_secret),
            ("subject_token", &forged),
            ("subject_token_type", ACCESS_TOKEN),
            ("scope", "api://orders/Orders.Read"),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_request");
    // Someone else's app token as the actor: refused.
    let (status, body) = token_request(
        &s.server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &other),
            ("client_secret", other_secret.as_deref().unwrap()),
            ("scope", &format!("{other}/.default")),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = s
        .exchange(&[
            ("actor_token", body["access_token"].as_str().unwrap()),
            ("actor_token_type", ACCESS_TOKEN),
        ])
        .await;
    assert_eq!(body["error"], "invalid_request", "{body}");
    // A policy cannot name an app of another tenant (or none).
    let (status, _) = s
        .admin
        .send(
            reqwest::Method::PUT,
            &format!("/{}/api", s.orders),
            json!({
                "identifier_uri": "api://orders",
                "token_exchange": [{"client_id": uuid::Uuid::new_v4().to_string(), "subject_audience": s.front}]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    s.server.stop().await;
}

#[tokio::test]
async fn a_gateways_dpop_bound_token_acts_only_with_the_gateways_key() {
    use crate::dpop::{Prover, nonce, only_the_key_holder_passes, token_with_proof};
    let s = setup().await;
    s.allow(false).await;
    let prover = Prover::new();
    let nonce = nonce(&s.server, &prover).await;
    let token_uri = s.server.url("oauth2/v2.0/token");
    let scope = format!("{}/.default", s.gateway);
    let (status, body, _) = token_with_proof(
        &s.server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &s.gateway),
            ("client_secret", &s.gateway_secret),
            ("scope", &scope),
        ],
        &[&prover.proof("POST", &token_uri, Some(&nonce), None)],
    )
    .await;
    assert_eq!(
        (status, body["token_type"].as_str()),
        (200, Some("DPoP")),
        "{body}"
    );
    let actor = body["access_token"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", EXCHANGE),
        ("client_id", s.gateway.as_str()),
        ("client_secret", s.gateway_secret.as_str()),
        ("subject_token", s.user_token.as_str()),
        ("subject_token_type", ACCESS_TOKEN),
        ("scope", "api://orders/Orders.Read"),
        ("actor_token", actor.as_str()),
        ("actor_token_type", ACCESS_TOKEN),
    ];
    // A stolen bound actor token, without the key or with a thief's: refused.
    let (status, body) = only_the_key_holder_passes(&s.server, &form, &prover, &nonce).await;
    assert_eq!(
        (status, body["token_type"].as_str()),
        (200, Some("DPoP")),
        "{body}"
    );
    s.server.stop().await;
}

#[tokio::test]
async fn a_chain_of_exchanges_keeps_every_actor_nested_in_act() {
    let s = setup().await;
    s.allow(false).await;
    let actor = s.gateway_token().await;
    let (status, body) = s
        .exchange(&[("actor_token", &actor), ("actor_token_type", ACCESS_TOKEN)])
        .await;
    assert_eq!(status, 200, "{body}");
    let for_orders = body["access_token"].as_str().unwrap().to_owned();
    // The Orders API hands the user's token on to Billing, through a worker of its own.
    let (billing, _) = s.server.app(AppKind::Web).await;
    let (worker, worker_secret) = s.server.app(AppKind::Web).await;
    let worker_secret = worker_secret.unwrap();
    let (status, body) = s
        .admin
        .send(
            reqwest::Method::PUT,
            &format!("/{billing}/api"),
            json!({
                "identifier_uri": "api://billing",
                "scopes": [{"name": "Billing.Read"}],
                "token_exchange": [{"client_id": worker, "subject_audience": s.orders}]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s.admin
        .grant(&worker, &billing, &["Billing.Read"], &[])
        .await;
    let (_, worker_token) = token_request(
        &s.server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &worker),
            ("client_secret", &worker_secret),
            ("scope", &format!("{worker}/.default")),
        ],
    )
    .await;
    let (status, body) = token_request(
        &s.server,
        &[
            ("grant_type", EXCHANGE),
            ("client_id", &worker),
            ("client_secret", &worker_secret),
            ("subject_token", &for_orders),
            ("subject_token_type", ACCESS_TOKEN),
            (
                "actor_token",
                worker_token["access_token"].as_str().unwrap(),
            ),
            ("actor_token_type", ACCESS_TOKEN),
            ("scope", "api://billing/Billing.Read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let issued = verified_claims(&s.server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(issued["aud"], billing.as_str());
    assert_eq!(
        issued["act"]["client_id"],
        worker.as_str(),
        "the current actor"
    );
    assert_eq!(
        issued["act"]["act"]["client_id"],
        s.gateway.as_str(),
        "the earlier actor, nested"
    );
    s.server.stop().await;
}

#[tokio::test]
async fn an_exchange_for_an_api_that_requires_mfa_needs_a_sign_in_that_passed_it() {
    let s = setup().await;
    s.allow(true).await;
    // The user signed in with a password only; the Orders API's flow now insists on MFA.
    crate::page::flow_for(
        &s.server,
        &s.orders,
        crate::mfa_bypass::mfa(vec![portico_core::directory::MfaMethod::Totp]),
    )
    .await;
    let (status, body) = s.exchange(&[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "a password-only sign-in cannot reach an MFA API by exchange: {body}"
    );
    s.server.stop().await;
}
