//! Custom authentication extensions, end to end: Portico calls a receiver built with
//! `portico-claims` (the SDK validates Portico's callout token through discovery, as it would
//! Entra's), and the claims it provides reach the tokens of every grant. Receivers that
//! misbehave get Entra's refusals and fail issuance closed; a slow one holds up no one else;
//! targets are checked against SSRF by address, not by name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::header;
use axum::response::IntoResponse;
use portico_claims::{
    ClaimsDecision, EventCommon, Handler, HandlerError, Receiver, TokenValidator, TrustedIssuer,
};
use portico_core::directory::{AppChanges, AppKind, ClaimMapping, TenantRef};
use portico_core::extensions::{ExtensionEvent, NewExtension};
use serde_json::{Value, json};

use crate::harness::{PASSWORD, TestServer, token_request, verified_claims};

/// The example receiver's own rules (`cargo run -p portico-claims --example receiver`), so
/// the end-to-end test calls what a company would start from.
#[path = "../../../claims/examples/receiver/demo.rs"]
mod demo;
use crate::native_auth::{native_app, password_sign_in};
use crate::rp::{oidc_client, sign_in};

/// The receiver's handler: a loyalty tier by email domain, the correlation id, a list claim,
/// and one claim no extension declared (which must never reach a token).
struct Loyalty {
    calls: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl Handler for Loyalty {
    async fn token_issuance_start(
        &self,
        event: &EventCommon,
    ) -> Result<ClaimsDecision, HandlerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let context = &event.authentication_context;
        let tier = match context.user.as_ref().and_then(|u| u.mail.as_deref()) {
            Some(mail) if mail.ends_with("@example.com") => "gold",
            Some(_) => "silver",
            None => "service",
        };
        let mut claims = BTreeMap::new();
        claims.insert("loyaltyTier".to_owned(), tier.into());
        claims.insert(
            "correlationId".to_owned(),
            context.correlation_id.clone().into(),
        );
        claims.insert(
            "favourites".to_owned(),
            vec!["tea".to_owned(), "scones".to_owned()].into(),
        );
        claims.insert("undeclared".to_owned(), "never in a token".into());
        Ok(ClaimsDecision::Allow(claims))
    }
}

/// A port for a receiver, bound before the extension that names it is registered.
pub(crate) async fn bind() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, format!("http://127.0.0.1:{port}/claims"))
}

pub(crate) fn serve(listener: tokio::net::TcpListener, router: axum::Router) {
    tokio::spawn(async move { axum::serve(listener, router).await });
}

pub(crate) fn new_extension(name: &str, target_url: &str, apps: &[&str]) -> NewExtension {
    NewExtension {
        name: name.into(),
        event: ExtensionEvent::TokenIssuanceStart,
        target_url: target_url.into(),
        resource_app_id: None,
        apps: apps.iter().map(|a| a.parse().unwrap()).collect(),
        timeout_ms: None,
        retries: None,
        // Not `memberSince`, which the example's receiver also answers.
        claims: vec![
            "loyaltyTier".into(),
            "correlationId".into(),
            "favourites".into(),
        ],
        fallback: false,
        encryption_key: None,
    }
}

async fn client_credentials(
    server: &TestServer,
    daemon: &(String, Option<String>),
    api: &str,
) -> (u16, Value) {
    token_request(
        server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &daemon.0),
            ("client_secret", daemon.1.as_deref().unwrap()),
            ("scope", &format!("{api}/.default")),
        ],
    )
    .await
}

/// Polls the call log until `count` calls of `extension` are there (the log is written
/// beside requests, not in their way).
pub(crate) async fn calls_logged(
    server: &TestServer,
    extension: &str,
    count: usize,
) -> Vec<portico_core::extensions::ExtensionCall> {
    for _ in 0..400 {
        let calls: Vec<_> = server
            .portico()
            .extension_calls(&TenantRef::Id(server.tenant.id), 0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.extension_id == extension)
            .collect();
        if calls.len() >= count {
            return calls;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the call log never had {count} calls of {extension}");
}

#[tokio::test]
async fn receiver_claims_reach_tokens_from_pages_native_api_refresh_and_client_credentials() {
    let server = TestServer::start().await;
    let tenant = TenantRef::Id(server.tenant.id);
    server.user("alice@example.com").await;
    let (web, web_secret) = server.app(AppKind::Web).await;
    let native = native_app(&server).await;
    let (api, _) = server.app(AppKind::Web).await;
    let daemon = server.app(AppKind::Daemon).await;
    // The web app renames one claim (Entra's claims-mapping policy).
    server
        .portico()
        .update_application(
            &tenant,
            web.parse().unwrap(),
            AppChanges {
                claim_mappings: Some(vec![ClaimMapping {
                    source: "loyaltyTier".into(),
                    claim: "tier".into(),
                }]),
                ..AppChanges::default()
            },
        )
        .await
        .unwrap();

    let (listener, url) = bind().await;
    let extension = server
        .portico()
        .create_extension(
            &tenant,
            new_extension("loyalty", &url, &[&web, &native, &api]),
        )
        .await
        .unwrap();
    // Portico registered a resource app for it: the audience the receiver trusts.
    let resource = server
        .portico()
        .show_application(&tenant, extension.resource_app_id.parse().unwrap())
        .await
        .unwrap();
    assert!(resource.name.contains("loyalty"));
    // The example receiver's rules, behind the SDK, trusting Portico's issuer.
    let validator = TokenValidator::new(vec![TrustedIssuer::new(
        server.issuer(),
        &extension.resource_app_id,
    )]);
    let receiver = Receiver::new(validator, demo::Demo);
    serve(listener, receiver.router("/claims"));

    // The hosted pages, redeemed by a third-party client (openidconnect).
    let client = oidc_client(&server, &web, web_secret.as_deref().unwrap()).await;
    let response = sign_in(&server, &client, &[], "alice@example.com").await;
    let id_token = response.extra_fields().id_token().unwrap().to_string();
    let id = verified_claims(&server, &id_token).await;
    assert_eq!(id["tier"], "gold", "{id}");
    assert!(
        id.get("loyaltyTier").is_none(),
        "mapped claims go by their new name"
    );
    assert_eq!(id["favourites"], json!(["tea", "scones"]));
    assert!(!id["correlationId"].as_str().unwrap().is_empty());
    assert!(
        id.get("memberSince").is_none(),
        "only declared claims are taken"
    );
    let access = verified_claims(
        &server,
        openidconnect::OAuth2TokenResponse::access_token(&response).secret(),
    )
    .await;
    assert_eq!(access["aud"], web);
    assert_eq!(
        access["tier"], "gold",
        "the client's own API: its mapping applies"
    );
    assert_eq!(
        calls_logged(&server, &extension.id, 1).await.len(),
        1,
        "one call for both tokens"
    );

    // The native API, and the refresh that follows: every issuance calls out.
    let (status, body) =
        password_sign_in(&server, &native, "alice@example.com", PASSWORD, "").await;
    assert_eq!(status, 200, "{body}");
    let id = verified_claims(&server, body["id_token"].as_str().unwrap()).await;
    assert_eq!(id["loyaltyTier"], "gold");
    let (status, refreshed) = token_request(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &native),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let id = verified_claims(&server, refreshed["id_token"].as_str().unwrap()).await;
    assert_eq!(id["loyaltyTier"], "gold");
    assert_ne!(
        id["correlationId"],
        verified_claims(&server, body["id_token"].as_str().unwrap()).await["correlationId"],
        "each issuance is its own call"
    );

    // Client credentials: the API's extension, no person (the receiver sees no user).
    let (status, body) = client_credentials(&server, &daemon, &api).await;
    assert_eq!(status, 200, "{body}");
    let access = verified_claims(&server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(access["loyaltyTier"], "service");
    assert_eq!(access["aud"], api);

    let logged = calls_logged(&server, &extension.id, 4).await;
    assert_eq!(
        logged.len(),
        4,
        "pages, native API, refresh, client credentials"
    );
    assert!(
        logged.iter().all(|c| c.outcome == "ok" && c.attempts == 1),
        "{logged:?}"
    );
    server.stop().await;
}

/// A receiver that answers each path its own wrong way; `/flaky` counts its calls and
/// fails with 503 each time.
fn misbehaving(flaky: Arc<AtomicUsize>) -> axum::Router {
    use axum::routing::post;
    let json_body =
        |body: String| ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    let claims_action = |action: Value| {
        json!({"data": {"@odata.type": "microsoft.graph.onTokenIssuanceStartResponseData", "actions": [action]}}).to_string()
    };
    let good = claims_action(json!({
        "@odata.type": "microsoft.graph.tokenIssuanceStart.provideClaimsForToken",
        "claims": {"loyaltyTier": "gold"}
    }));
    let good_text = good.clone();
    let wrong_action = claims_action(json!({
        "@odata.type": "microsoft.graph.attributeCollectionSubmit.continueWithDefaultBehavior"
    }));
    let null_claims = claims_action(json!({
        "@odata.type": "microsoft.graph.tokenIssuanceStart.provideClaimsForToken",
        "claims": null
    }));
    let number_claim = claims_action(json!({
        "@odata.type": "microsoft.graph.tokenIssuanceStart.provideClaimsForToken",
        "claims": {"loyaltyTier": 3}
    }));
    let oversize = claims_action(json!({
        "@odata.type": "microsoft.graph.tokenIssuanceStart.provideClaimsForToken",
        "claims": {"loyaltyTier": "x".repeat(70 * 1024)}
    }));
    axum::Router::new()
        .route("/hang", post(std::future::pending::<String>))
        .route(
            "/flaky",
            post(move || {
                flaky.fetch_add(1, Ordering::SeqCst);
                async { axum::http::StatusCode::SERVICE_UNAVAILABLE }
            }),
        )
        .route(
            "/not-json",
            post(move || async move { json_body("{\"data\": ".into()) }),
        )
        .route(
            "/text",
            post(move || async move { ([(header::CONTENT_TYPE, "text/plain")], good_text) }),
        )
        .route(
            "/wrong-action",
            post(move || async move { json_body(wrong_action) }),
        )
        .route(
            "/null-claims",
            post(move || async move { json_body(null_claims) }),
        )
        .route(
            "/number-claim",
            post(move || async move { json_body(number_claim) }),
        )
        .route(
            "/oversize",
            post(move || async move { json_body(oversize) }),
        )
        .route("/good", post(move || async move { json_body(good) }))
}

#[tokio::test]
async fn every_receiver_failure_fails_issuance_closed_with_entras_error_number() {
    let server = TestServer::start().await;
    let tenant = TenantRef::Id(server.tenant.id);
    let (api, _) = server.app(AppKind::Web).await;
    let daemon = server.app(AppKind::Daemon).await;
    let flaky = Arc::new(AtomicUsize::new(0));
    let (listener, url) = bind().await;
    serve(listener, misbehaving(Arc::clone(&flaky)));
    let base = url.trim_end_matches("/claims");

    let cases: [(&str, u8, u32, &str); 8] = [
        ("hang", 0, 1_003_005, "timeout"),
        ("flaky", 1, 1_003_002, "refused"),
        ("not-json", 1, 1_003_003, "refused"),
        ("text", 1, 1_003_006, "refused"),
        ("wrong-action", 1, 1_003_012, "refused"),
        ("null-claims", 1, 1_003_007, "refused"),
        ("number-claim", 1, 1_003_003, "refused"),
        ("oversize", 1, 1_003_024, "refused"),
    ];
    for (path, retries, code, outcome) in cases {
        let mut new = new_extension(path, &format!("{base}/{path}"), &[&api]);
        new.retries = Some(retries);
        new.timeout_ms = Some(200);
        let extension = server
            .portico()
            .create_extension(&tenant, new)
            .await
            .unwrap();
        let (status, body) = client_credentials(&server, &daemon, &api).await;
        assert_eq!(status, 503, "{path}: {body}");
        assert_eq!(body["error"], "temporarily_unavailable", "{path}");
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.contains(&code.to_string()),
            "{path}: {description}"
        );
        assert!(body.get("access_token").is_none());
        server
            .portico()
            .delete_extension(&tenant, &extension.id)
            .await
            .unwrap();
        let logged = calls_logged(&server, &extension.id, 1).await;
        assert_eq!(logged[0].outcome, outcome, "{path}");
        assert_eq!(logged[0].error_code, Some(code), "{path}");
        assert_eq!(
            logged[0].attempts,
            if path == "flaky" { 2 } else { 1 },
            "{path}"
        );
    }
    assert_eq!(
        flaky.load(Ordering::SeqCst),
        2,
        "a 5xx is tried once more, no more"
    );

    // The same receiver, answering well: issuance works again.
    let extension = server
        .portico()
        .create_extension(
            &tenant,
            new_extension("good", &format!("{base}/good"), &[&api]),
        )
        .await
        .unwrap();
    let (status, body) = client_credentials(&server, &daemon, &api).await;
    assert_eq!(status, 200, "{body}");
    let access = verified_claims(&server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(access["loyaltyTier"], "gold");
    server
        .portico()
        .delete_extension(&tenant, &extension.id)
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_slow_receiver_holds_up_no_other_sign_in() {
    let server = TestServer::start().await;
    let tenant = TenantRef::Id(server.tenant.id);
    let (slow_api, _) = server.app(AppKind::Web).await;
    let (other_api, _) = server.app(AppKind::Web).await;
    let daemon = server.app(AppKind::Daemon).await;
    // The receiver takes the call and answers only when the test says so.
    let (arrived_tx, arrived) = tokio::sync::mpsc::channel::<()>(1);
    let release = Arc::new(tokio::sync::Notify::new());
    let hold = Arc::clone(&release);
    let (listener, url) = bind().await;
    serve(
        listener,
        axum::Router::new().route(
            "/claims",
            axum::routing::post(move || {
                let (arrived_tx, hold) = (arrived_tx.clone(), Arc::clone(&hold));
                async move {
                    let _ = arrived_tx.send(()).await;
                    hold.notified().await;
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                }
            }),
        ),
    );
    let mut new = new_extension("slow", &url, &[&slow_api]);
    new.timeout_ms = Some(2000);
    new.retries = Some(0);
    server
        .portico()
        .create_extension(&tenant, new)
        .await
        .unwrap();

    let slow = {
        let (server_url, daemon, api) = (
            server.url("oauth2/v2.0/token"),
            daemon.clone(),
            slow_api.clone(),
        );
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(server_url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", daemon.0.as_str()),
                    ("client_secret", daemon.1.as_deref().unwrap()),
                    ("scope", &format!("{api}/.default")),
                ])
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let mut arrived = arrived;
    arrived.recv().await.unwrap();
    // While that issuance waits on its receiver, others go through.
    for _ in 0..3 {
        let (status, body) = client_credentials(&server, &daemon, &other_api).await;
        assert_eq!(status, 200, "{body}");
    }
    assert!(
        !slow.is_finished(),
        "the slow issuance is still waiting on its receiver"
    );
    release.notify_waiters();
    assert_eq!(slow.await.unwrap(), 503);
    server.stop().await;
}

#[tokio::test]
async fn targets_must_be_https_public_or_loopback() {
    let server = TestServer::start().await;
    let tenant = TenantRef::Id(server.tenant.id);
    let (api, _) = server.app(AppKind::Web).await;
    for target in [
        "http://claims.example.com/x",
        "ftp://claims.example.com/x",
        "https://10.1.2.3/x",
        "https://[fd00::1]/x",
        "https://169.254.169.254/latest",
        "https://user:pw@claims.example.com/x",
        "https://claims.example.com/x#frag",
        "not a url",
    ] {
        let refused = server
            .portico()
            .create_extension(&tenant, new_extension("bad", target, &[&api]))
            .await;
        assert!(refused.is_err(), "{target} was registered");
    }
    // Names are checked again as addresses when called: the transport's own test
    // (`portico-delivery`, callout.rs) has a name rebinding to loopback and one to the
    // private network refused, through the same pooled client the server uses.

    server.stop().await;
}

#[tokio::test]
async fn registration_refuses_what_could_not_work() {
    let server = TestServer::start().await;
    let tenant = TenantRef::Id(server.tenant.id);
    let portico = server.portico();
    let (api, _) = server.app(AppKind::Web).await;
    let (other, _) = server.app(AppKind::Web).await;
    let url = "https://claims.example.com/x";
    let refused = |change: fn(&mut NewExtension)| {
        let mut new = new_extension("bad", url, &[&api]);
        change(&mut new);
        let tenant = &tenant;
        async move {
            portico
                .create_extension(tenant, new)
                .await
                .unwrap_err()
                .to_string()
        }
    };
    assert!(
        refused(|n| n.timeout_ms = Some(199))
            .await
            .contains("200 to 2000")
    );
    assert!(
        refused(|n| n.timeout_ms = Some(2001))
            .await
            .contains("200 to 2000")
    );
    assert!(refused(|n| n.retries = Some(2)).await.contains("0 or 1"));
    assert!(
        refused(|n| n.claims = vec!["sub".into()])
            .await
            .contains("set by Portico")
    );
    // Nor what relying parties take as the directory's word.
    assert!(
        refused(|n| n.claims = vec!["Email".into()])
            .await
            .contains("set by Portico")
    );
    assert!(
        refused(|n| n.claims = vec!["bad claim".into()])
            .await
            .contains("letters")
    );
    assert!(refused(|n| n.fallback = true).await.contains("otp-send"));
    assert!(
        refused(|n| n.resource_app_id = Some("orders".into()))
            .await
            .contains("GUID")
    );
    assert!(
        refused(|n| {
            n.event = ExtensionEvent::OtpSend;
        })
        .await
        .contains("token-issuance-start")
    );
    let unknown = refused(|n| n.apps = vec![portico_core::ids::ClientId::new_random()]).await;
    assert!(unknown.contains("no application"), "{unknown}");

    // One extension per event and app: a second one for the same app, or one for every app,
    // would leave which is called to chance.
    let first = portico
        .create_extension(&tenant, new_extension("first", url, &[&api]))
        .await
        .unwrap();
    for apps in [vec![api.as_str()], vec![]] {
        let clash = portico
            .create_extension(&tenant, new_extension("second", url, &apps))
            .await
            .unwrap_err();
        assert!(clash.to_string().contains("already handles"), "{clash}");
    }
    // Another app is fine; the same name is not.
    portico
        .create_extension(&tenant, new_extension("second", url, &[&other]))
        .await
        .unwrap();
    let mut same_name = new_extension("first", url, &[]);
    same_name.event = ExtensionEvent::AttributeCollectionStart;
    same_name.claims.clear();
    assert!(portico.create_extension(&tenant, same_name).await.is_err());
    // A resource app id the receiver already trusts (an Entra app registration) is kept.
    let entra_app = "1b4f2c3d-0000-4000-8000-00000000abcd";
    let mut given = new_extension("given", url, &[]);
    given.event = ExtensionEvent::OtpSend;
    given.claims.clear();
    given.resource_app_id = Some(entra_app.to_uppercase());
    let given = portico.create_extension(&tenant, given).await.unwrap();
    assert_eq!(given.resource_app_id, entra_app);
    assert!(
        given.apps.is_empty() && given.all_apps,
        "no app named: every app"
    );
    // Claim mappings are checked like claims.
    let mapping = portico
        .update_application(
            &tenant,
            api.parse().unwrap(),
            AppChanges {
                claim_mappings: Some(vec![ClaimMapping {
                    source: "loyaltyTier".into(),
                    claim: "aud".into(),
                }]),
                ..AppChanges::default()
            },
        )
        .await
        .unwrap_err();
    assert!(mapping.to_string().contains("set by Portico"), "{mapping}");
    portico.delete_extension(&tenant, &first.id).await.unwrap();
    assert!(portico.delete_extension(&tenant, &first.id).await.is_err());
    // An extension whose one app is deleted serves no app, never every app (a code or a
    // password meant for one app's receiver must not go to it for all apps).
    let (lone, _) = server.app(AppKind::Web).await;
    let mut for_lone = new_extension("lone", url, &[&lone]);
    for_lone.event = ExtensionEvent::AttributeCollectionStart;
    for_lone.claims.clear();
    let lone_extension = portico.create_extension(&tenant, for_lone).await.unwrap();
    portico
        .delete_application(&tenant, lone.parse().unwrap())
        .await
        .unwrap();
    for client in [Some(api.parse().unwrap()), None] {
        assert!(
            portico
                .extension_for(
                    server.tenant.id,
                    ExtensionEvent::AttributeCollectionStart,
                    client
                )
                .await
                .unwrap()
                .is_none()
        );
    }
    portico
        .delete_extension(&tenant, &lone_extension.id)
        .await
        .unwrap();
    // Another tenant sees none of it.
    let fabrikam = portico
        .create_tenant("fabrikam", portico_keys::SigningAlgorithm::Rs256)
        .await
        .unwrap();
    let theirs = TenantRef::Id(fabrikam.id);
    assert!(portico.list_extensions(&theirs).await.unwrap().is_empty());
    assert!(portico.show_extension(&theirs, &given.id).await.is_err());
    assert!(portico.delete_extension(&theirs, &given.id).await.is_err());
    server.stop().await;
}

#[tokio::test]
async fn the_admin_api_registers_tests_and_deletes_extensions() {
    let server = TestServer::start().await;
    let (api, _) = server.app(AppKind::Web).await;
    let token = server.portico().create_admin_token().await.unwrap();
    let http = reqwest::Client::new();
    let base = format!("{}/admin/api/v1/tenants/{}", server.base, server.tenant.id);
    let (listener, url) = bind().await;
    serve(listener, misbehaving(Arc::default()));
    let good = url.replace("/claims", "/good");
    let created = http
        .post(format!("{base}/extensions"))
        .bearer_auth(&token)
        .json(&json!({
            "name": "loyalty",
            "event": "token-issuance-start",
            "target_url": good,
            "apps": [api],
            "timeout_ms": 500,
            "claims": ["loyaltyTier"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["retries"], 1);
    assert!(
        created["resource_app_id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .is_ok()
    );
    let bad = http
        .post(format!("{base}/extensions"))
        .bearer_auth(&token)
        .json(&json!({"name": "x", "event": "lunch", "target_url": good}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let listed: Value = http
        .get(format!("{base}/extensions"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    let tested: Value = http
        .post(format!("{base}/extensions/{id}/test"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tested["ok"], true, "{tested}");
    assert_eq!(tested["answer"]["claims"]["loyaltyTier"], "gold");
    assert_eq!(
        tested["request"]["type"],
        "microsoft.graph.authenticationEvent.tokenIssuanceStart"
    );
    let calls: Value = http
        .get(format!("{base}/extension-calls?limit=10"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls[0]["outcome"], "ok", "{calls}");
    assert_eq!(calls[0]["extension_id"], id.as_str());
    let deleted = http
        .delete(format!("{base}/extensions/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = http
        .get(format!("{base}/extensions/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    server.stop().await;
}

/// A token signed with the tenant's own key, as Portico's callouts are, with `change`
/// applied to the claims.
async fn tenant_signed(server: &TestServer, change: impl FnOnce(&mut Value)) -> String {
    let portico = server.portico();
    let keys = portico
        .keys
        .tenant_keys(portico.store.as_ref(), server.tenant.id, portico.now())
        .await
        .unwrap();
    let now = portico.now();
    let mut claims = json!({
        "aud": "receiver-app",
        "iss": server.issuer(),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "azp": portico_claims::ENTRA_AUTHENTICATION_EVENTS_APP,
        "ver": "2.0",
        "tid": server.tenant.id.to_string(),
    });
    change(&mut claims);
    portico_keys::encode_jws(&keys.signing, "JWT", &claims).unwrap()
}

/// A token-issuance request as Entra sends one (specs §2.3), for a client app.
fn issuance_request(client_app: &str) -> Value {
    json!({
        "type": "microsoft.graph.authenticationEvent.tokenIssuanceStart",
        "source": format!("/tenants/t/applications/{client_app}"),
        "data": {
            "@odata.type": "microsoft.graph.onTokenIssuanceStartCalloutData",
            "tenantId": "t",
            "authenticationEventListenerId": "l",
            "customAuthenticationExtensionId": "e",
            "authenticationContext": {
                "correlationId": "c0ffee00-0000-4000-8000-000000000001",
                "client": {"ip": "192.0.2.10", "locale": "en-us", "market": "en-us"},
                "protocol": "OAUTH2.0",
                "clientServicePrincipal": {"id": client_app, "appId": client_app, "appDisplayName": "shop", "displayName": "shop"},
                "resourceServicePrincipal": {"id": client_app, "appId": client_app, "appDisplayName": "shop", "displayName": "shop"},
                "user": {"id": "u1", "displayName": "Ada", "mail": "ada@example.com", "userType": "Member"}
            }
        }
    })
}

#[tokio::test]
async fn the_sdk_refuses_forged_expired_foreign_and_misaddressed_tokens() {
    let server = TestServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let validator = TokenValidator::new(vec![TrustedIssuer::new(server.issuer(), "receiver-app")])
        .clock_skew(std::time::Duration::from_secs(60));
    let receiver = Receiver::new(
        validator,
        Loyalty {
            calls: Arc::clone(&calls),
        },
    )
    .allow_client_apps(["shop-app"]);
    let (listener, url) = bind().await;
    serve(listener, receiver.router("/claims"));
    let http = reqwest::Client::new();
    let send = |token: Option<String>, body: Vec<u8>| {
        let mut request = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let body = || serde_json::to_vec(&issuance_request("shop-app")).unwrap();

    let valid = tenant_signed(&server, |_| {}).await;
    let (status, answer) = send(Some(valid.clone()), body()).await;
    assert_eq!(status, 200, "{answer}");
    let action = &answer["data"]["actions"][0];
    assert_eq!(
        answer["data"]["@odata.type"],
        "microsoft.graph.onTokenIssuanceStartResponseData"
    );
    assert_eq!(
        action["@odata.type"],
        "microsoft.graph.tokenIssuanceStart.provideClaimsForToken"
    );
    assert_eq!(action["claims"]["loyaltyTier"], "gold");
    assert_eq!(action["claims"]["favourites"], json!(["tea", "scones"]));

    // Forged: the tenant's kid, another key (and another algorithm).
    let kid = jsonwebtoken::decode_header(&valid).unwrap().kid.unwrap();
    let (_, pkcs8) =
        portico_keys::SigningKey::generate(portico_keys::SigningAlgorithm::Es256).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid);
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(&valid).unwrap();
    let forged = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&pkcs8),
    )
    .unwrap();
    // Tampered: the valid token with its claims changed after signing.
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let mut altered = claims.clone();
    altered["aud"] = json!("receiver-app");
    altered["azp"] = json!("attacker");
    use base64::Engine as _;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(altered.to_string());
    let tampered = parts.join(".");
    let now = server.portico().now();
    let refused = [
        ("no token", None),
        ("forged", Some(forged)),
        ("tampered", Some(tampered)),
        (
            "expired",
            Some(tenant_signed(&server, |c| c["exp"] = json!(now - 120)).await),
        ),
        (
            "not yet valid",
            Some(tenant_signed(&server, |c| c["nbf"] = json!(now + 600)).await),
        ),
        (
            "wrong issuer",
            Some(
                tenant_signed(&server, |c| {
                    c["iss"] = json!("https://login.example/other/v2.0")
                })
                .await,
            ),
        ),
        (
            "wrong audience",
            Some(tenant_signed(&server, |c| c["aud"] = json!("another-app")).await),
        ),
        (
            "wrong azp",
            Some(
                tenant_signed(&server, |c| {
                    c["azp"] = json!("f00dfeed-0000-4000-8000-000000000000")
                })
                .await,
            ),
        ),
        (
            "v1 without appid",
            Some(tenant_signed(&server, |c| c["ver"] = json!("1.0")).await),
        ),
        ("not a JWT", Some("not.a.jwt".into())),
    ];
    for (case, token) in refused {
        let (status, _) = send(token, body()).await;
        assert_eq!(status, 401, "{case}");
    }
    // A v1.0 token names the caller in appid.
    let v1 = tenant_signed(&server, |c| {
        c["ver"] = json!("1.0");
        c["appid"] = json!(portico_claims::ENTRA_AUTHENTICATION_EVENTS_APP);
        c.as_object_mut().unwrap().remove("azp");
    })
    .await;
    assert_eq!(send(Some(v1), body()).await.0, 200);
    // Bodies: not JSON, no correlation id, a user without id: 400. An app not served: 403.
    assert_eq!(send(Some(valid.clone()), b"{".to_vec()).await.0, 400);
    let mut no_correlation = issuance_request("shop-app");
    no_correlation["data"]["authenticationContext"]["correlationId"] = Value::Null;
    assert_eq!(
        send(
            Some(valid.clone()),
            serde_json::to_vec(&no_correlation).unwrap()
        )
        .await
        .0,
        400
    );
    let mut no_user_id = issuance_request("shop-app");
    no_user_id["data"]["authenticationContext"]["user"]["id"] = Value::Null;
    assert_eq!(
        send(
            Some(valid.clone()),
            serde_json::to_vec(&no_user_id).unwrap()
        )
        .await
        .0,
        400
    );
    let other_app = serde_json::to_vec(&issuance_request("other-app")).unwrap();
    assert_eq!(send(Some(valid.clone()), other_app).await.0, 403);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the handler ran for accepted calls only"
    );
    server.stop().await;
}

// The CLI runs as a blocking child process: the receiver needs a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_registers_maps_tests_and_lists_calls() {
    use crate::cli::{portico, run};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    portico(&data, &["tenant", "create", "contoso", "--json"]);
    let web = portico(
        &data,
        &[
            "app",
            "create",
            "--tenant",
            "contoso",
            "--name",
            "Web",
            "--kind",
            "web",
            "--redirect-uri",
            "https://app.example/cb",
            "--json",
        ],
    );
    let web = web["client_id"].as_str().unwrap().to_owned();
    let (listener, url) = bind().await;
    serve(listener, misbehaving(Arc::default()));
    let good = url.replace("/claims", "/good");
    let created = portico(
        &data,
        &[
            "extension",
            "create",
            "--tenant",
            "contoso",
            "--name",
            "loyalty",
            "--event",
            "token-issuance-start",
            "--target-url",
            &good,
            "--app",
            &web,
            "--claim",
            "loyaltyTier",
            "--timeout-ms",
            "800",
            "--json",
        ],
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let resource = created["resource_app_id"].as_str().unwrap().to_owned();
    assert!(resource.parse::<uuid::Uuid>().is_ok());
    // The resource app is an app of the tenant, with Entra's identifier URI form.
    let shown = portico(
        &data,
        &[
            "app", "show", "--tenant", "contoso", "--app", &resource, "--json",
        ],
    );
    assert_eq!(
        shown["identifier_uri"],
        format!("api://127.0.0.1/{resource}"),
        "{shown}"
    );
    let mapped = portico(
        &data,
        &[
            "app",
            "claim-map",
            "--tenant",
            "contoso",
            "--app",
            &web,
            "--source",
            "loyaltyTier",
            "--claim",
            "tier",
            "--json",
        ],
    );
    assert_eq!(
        mapped["claim_mappings"],
        json!([{"source": "loyaltyTier", "claim": "tier"}])
    );
    let tested = portico(
        &data,
        &[
            "extension",
            "test",
            "--tenant",
            "contoso",
            "--id",
            &id,
            "--json",
        ],
    );
    assert_eq!(tested["result"]["ok"], true, "{tested}");
    assert_eq!(
        tested["result"]["answer"]["action"],
        "provideClaimsForToken"
    );
    assert_eq!(
        tested["request"]["data"]["customAuthenticationExtensionId"],
        id.as_str()
    );
    let calls = portico(
        &data,
        &["extension", "calls", "--tenant", "contoso", "--json"],
    );
    assert_eq!(calls["calls"][0]["outcome"], "ok", "{calls}");
    let listed = portico(
        &data,
        &["extension", "list", "--tenant", "contoso", "--json"],
    );
    assert_eq!(listed["extensions"][0]["timeout_ms"], 800);
    assert_eq!(listed["extensions"][0]["apps"], json!([web]));
    // Wrong input is an error with a message, not a crash.
    let refused = run(
        &data,
        &[
            "extension",
            "create",
            "--tenant",
            "contoso",
            "--name",
            "x",
            "--event",
            "token-issuance-start",
            "--target-url",
            "http://claims.example.com",
            "--json",
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("https://"));
    portico(
        &data,
        &[
            "extension",
            "delete",
            "--tenant",
            "contoso",
            "--id",
            &id,
            "--json",
        ],
    );
    let listed = portico(
        &data,
        &["extension", "list", "--tenant", "contoso", "--json"],
    );
    assert_eq!(listed["extensions"], json!([]));
}

#[tokio::test]
async fn a_tenant_may_name_another_calling_app_and_receivers_hold_to_it() {
    let server = TestServer::start().await;
    let tenant = TenantRef::Id(server.tenant.id);
    let (api, _) = server.app(AppKind::Web).await;
    let daemon = server.app(AppKind::Daemon).await;
    let ours = "0c0ffee0-0000-4000-8000-00000000beef";
    let mut settings = (*server
        .portico()
        .tenant_settings(server.tenant.id)
        .await
        .unwrap())
    .clone();
    settings.callout_azp = Some(ours.into());
    server
        .portico()
        .set_tenant_settings(&tenant, settings)
        .await
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    // One receiver still expects Entra's app; the other the tenant's.
    for (path, parties) in [("entra", None), ("ours", Some(vec![ours.to_owned()]))] {
        let (listener, url) = bind().await;
        let mut new = new_extension(path, &url, &[&api]);
        new.resource_app_id = Some("5eed0000-0000-4000-8000-000000000001".into());
        let extension = server
            .portico()
            .create_extension(&tenant, new)
            .await
            .unwrap();
        let mut validator = TokenValidator::new(vec![TrustedIssuer::new(
            server.issuer(),
            "5eed0000-0000-4000-8000-000000000001",
        )]);
        if let Some(parties) = parties {
            validator = validator.authorized_parties(parties);
        }
        let handler = Loyalty {
            calls: Arc::clone(&calls),
        };
        serve(
            listener,
            Receiver::new(validator, handler).router("/claims"),
        );
        let (status, body) = client_credentials(&server, &daemon, &api).await;
        if path == "entra" {
            assert_eq!(status, 503, "{body}");
            let logged = calls_logged(&server, &extension.id, 1).await;
            assert_eq!(
                logged[0].error_code,
                Some(1_003_002),
                "the receiver said 401"
            );
        } else {
            assert_eq!(status, 200, "{body}");
            let access = verified_claims(&server, body["access_token"].as_str().unwrap()).await;
            assert_eq!(access["loyaltyTier"], "service");
        }
        server
            .portico()
            .delete_extension(&tenant, &extension.id)
            .await
            .unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    server.stop().await;
}
