//! Discovery documents, JWKS and key rotation as seen by clients.

use portico_core::directory::{AppKind, TenantRef};
use serde_json::Value;

use crate::harness::{TestServer, browser, spa_tokens};

async fn get_json(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn discovery_is_entra_shaped_and_reachable_by_name_or_id() {
    let server = TestServer::start().await;
    let tid = server.tenant.id.to_string();
    let by_id = get_json(&server.url("v2.0/.well-known/openid-configuration"))
        .await
        .1;
    for path in [
        format!(
            "{}/contoso/v2.0/.well-known/openid-configuration",
            server.base
        ),
        format!(
            "{}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration",
            server.base
        ),
        format!(
            "{}/contoso/v2.0/.well-known/oauth-authorization-server",
            server.base
        ),
        format!(
            "{}/.well-known/oauth-authorization-server/{tid}/v2.0",
            server.base
        ),
    ] {
        let (status, doc) = get_json(&path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(doc, by_id, "{path}: one document whatever the alias");
    }
    assert_eq!(by_id["issuer"], format!("{}/{tid}/v2.0", server.base));
    assert_eq!(
        by_id["jwks_uri"],
        format!("{}/{tid}/discovery/v2.0/keys", server.base)
    );
    assert_eq!(
        by_id["token_endpoint"],
        format!("{}/{tid}/oauth2/v2.0/token", server.base)
    );
    assert_eq!(
        by_id["authorization_endpoint"],
        format!("{}/{tid}/oauth2/v2.0/authorize", server.base)
    );
    assert_eq!(
        by_id["end_session_endpoint"],
        format!("{}/{tid}/oauth2/v2.0/logout", server.base)
    );
    assert_eq!(
        by_id["userinfo_endpoint"],
        format!("{}/{tid}/oidc/userinfo", server.base)
    );
    assert_eq!(
        by_id["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        by_id["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        by_id["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        by_id["subject_types_supported"],
        serde_json::json!(["pairwise"])
    );

    let (status, body) = get_json(&format!(
        "{}/no-such-tenant/v2.0/.well-known/openid-configuration",
        server.base
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
    let (status, _) = get_json(&format!("{}/nothing/at/all", server.base)).await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test]
async fn jwks_publishes_the_next_key_before_it_signs_and_keeps_the_old_one() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let jwks_url = server.url("discovery/v2.0/keys");
    let kids = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, before) = get_json(&jwks_url).await;
    let before_kids = kids(&before);
    assert_eq!(before_kids.len(), 2, "current and next are published");
    for key in before["keys"].as_array().unwrap() {
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "RS256");
        assert!(
            key.get("d").is_none() && key.get("p").is_none(),
            "no private parts"
        );
    }
    let signing_kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let tokens = spa_tokens(&server, &browser(), "alice@example.com").await;
    assert_eq!(signing_kid(tokens.access()), before_kids[0]);

    server
        .portico()
        .rotate_keys(&TenantRef::Id(server.tenant.id))
        .await
        .unwrap();
    let (_, after) = get_json(&jwks_url).await;
    let after_kids = kids(&after);
    assert_eq!(after_kids.len(), 3);
    assert_eq!(
        after_kids[0], before_kids[1],
        "the published next key now signs"
    );
    assert!(
        after_kids.contains(&before_kids[0]),
        "the old key stays published"
    );
    let tokens = spa_tokens(&server, &browser(), "alice@example.com").await;
    assert_eq!(signing_kid(tokens.access()), before_kids[1]);
    server.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.app(AppKind::Daemon).await;
    let token = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", secret.as_deref().unwrap()),
            ("scope", &format!("{client_id}/.default")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    assert_eq!(
        reqwest::get(format!("{}/healthz", server.base))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{}/readyz", server.base))
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("portico_http_requests_total"), "{metrics}");
    assert!(metrics.contains("portico_token_requests_total"));
    assert!(
        metrics.contains("route=\"/{tenant}/oauth2/v2.0/token\""),
        "labelled by route template"
    );
    server.stop().await;
}

#[tokio::test]
async fn metrics_move_to_their_own_listener_off_the_public_one() {
    let server = crate::harness::TestServer::start_serving(
        crate::harness::Backend::Sqlite,
        portico_keys::SigningAlgorithm::Rs256,
        |_| {},
        portico::server::ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: None,
            tls: None,
            trusted_proxies: Vec::new(),
            metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
            delivery: None,
        },
    )
    .await
    .unwrap();
    let public = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    assert_eq!(public.status(), 404, "not on the public listener");
    let internal = server.server.metrics_addr.unwrap();
    let metrics = reqwest::get(format!("http://{internal}/metrics"))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics
            .text()
            .await
            .unwrap()
            .contains("portico_http_requests_total")
    );
    // Only metrics there: no sign-in, no admin API.
    let other = reqwest::get(format!("http://{internal}/admin/api/v1/tenants"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    server.stop().await;
}
