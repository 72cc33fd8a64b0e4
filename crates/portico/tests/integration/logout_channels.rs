//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0) and front-channel logout
//! (Front-Channel Logout 1.0): apps on their own origin hear that a session they served
//! ended, through the outbox (a logout token POSTed to them) and through frames of the
//! sign-out page (driven in Chromium). Logout tokens are checked with jsonwebtoken against
//! the published JWKS, as an app's library would.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use portico_core::clock::ManualClock;
use portico_core::directory::{AppChanges, AppKind, LogoutUris, NewApplication, TenantRef};
use portico_delivery::{MailTransport, SmsTransport, Worker};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::api_access::Admin;
use crate::browser::{Driver, fill_and_press, wait_for_url};
use crate::harness::{
    PASSWORD, TestServer, app_server, browser, location_params, param, submit_sign_in,
    token_request, userinfo_status, verified_claims,
};

/// What the app received: a back-channel POST (which endpoint, its content type and body),
/// or a front-channel page load (its query).
#[derive(Debug)]
enum Heard {
    Back {
        endpoint: String,
        content_type: String,
        body: String,
    },
    Front {
        query: String,
    },
}

/// A relying party on its own origin: a callback, back-channel endpoints that answer 503
/// while `failures` lasts, and a front-channel logout page.
struct App {
    origin: String,
    heard: mpsc::UnboundedReceiver<Heard>,
    failures: Arc<AtomicUsize>,
}

impl App {
    async fn start() -> Self {
        let (tx, heard) = mpsc::unbounded_channel();
        let failures = Arc::new(AtomicUsize::new(0));
        let back_tx = tx.clone();
        let back_failures = Arc::clone(&failures);
        let router = axum::Router::new()
            .route(
                "/callback",
                axum::routing::get(|| async { axum::response::Html("<p id=\"callback\">app</p>") }),
            )
            .route(
                "/backchannel/{endpoint}",
                axum::routing::post(
                    move |Path(endpoint): Path<String>, headers: HeaderMap, body: String| {
                        let tx = back_tx.clone();
                        let failures = Arc::clone(&back_failures);
                        async move {
                            let content_type = headers
                                .get("content-type")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned();
                            tx.send(Heard::Back {
                                endpoint,
                                content_type,
                                body,
                            })
                            .unwrap();
                            let failing = failures
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                    n.checked_sub(1)
                                })
                                .is_ok();
                            if failing {
                                StatusCode::SERVICE_UNAVAILABLE
                            } else {
                                StatusCode::OK
                            }
                        }
                    },
                ),
            )
            .route(
                "/frontchannel",
                axum::routing::get(move |RawQuery(query): RawQuery| {
                    let tx = tx.clone();
                    async move {
                        tx.send(Heard::Front {
                            query: query.unwrap_or_default(),
                        })
                        .unwrap();
                        axum::response::Html("<p>signed out of the app</p>")
                    }
                }),
            );
        Self {
            origin: app_server(router).await,
            heard,
            failures,
        }
    }

    fn callback(&self) -> String {
        format!("{}/callback", self.origin)
    }

    /// A web app of `server` redirecting to this origin, told at `/backchannel/{endpoint}`
    /// (when given) and framed at `/frontchannel` (when `front`).
    async fn register(
        &self,
        server: &TestServer,
        endpoint: Option<&str>,
        front: bool,
    ) -> (String, String) {
        let created = server
            .portico()
            .create_application(
                &TenantRef::Id(server.tenant.id),
                NewApplication {
                    name: "web app".into(),
                    kind: AppKind::Web,
                    redirect_uris: vec![self.callback()],
                    identifier_uri: None,
                    optional_claims: Vec::new(),
                    native_auth: false,
                    cors_origins: Vec::new(),
                    client_keys: Vec::new(),
                    logout: LogoutUris {
                        backchannel: endpoint
                            .map(|name| format!("{}/backchannel/{name}", self.origin)),
                        frontchannel: front.then(|| format!("{}/frontchannel", self.origin)),
                    },
                },
            )
            .await
            .unwrap();
        (
            created.application.client_id.to_string(),
            created.client_secret.unwrap(),
        )
    }

    /// Everything heard so far (the worker's POSTs have been answered by now).
    fn drain(&mut self) -> Vec<Heard> {
        std::iter::from_fn(|| self.heard.try_recv().ok()).collect()
    }
}

/// Runs the authorization request of `client_id` in `browser` (signing in if there is no
/// session yet) and redeems the code as the web app does; the verified ID token's claims.
async fn sign_in(
    server: &TestServer,
    app: &App,
    browser: &reqwest::Client,
    (client_id, secret): &(String, String),
) -> (Value, String) {
    let callback = app.callback();
    let page = browser
        .get(server.url("oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", &callback),
            ("scope", "openid"),
            ("nonce", "n-0S6_WzA2Mj"),
        ])
        .send()
        .await
        .unwrap();
    let redirect = if page.status() == 200 {
        let html = page.text().await.unwrap();
        submit_sign_in(server, browser, &html, "alice@example.com", PASSWORD).await
    } else {
        page
    };
    assert!(redirect.status().is_redirection(), "to the app");
    let params = location_params(&redirect);
    let (status, body) = token_request(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("code", param(&params, "code").expect("a code")),
            ("redirect_uri", &callback),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id_token = body["id_token"].as_str().unwrap().to_owned();
    (verified_claims(server, &id_token).await, id_token)
}

/// The outbox worker as `portico serve` runs it, on a clock the test moves.
fn worker(server: &TestServer, clock: &ManualClock, mail_dir: &std::path::Path) -> Worker {
    Worker::new(
        Arc::clone(&server.portico().store),
        Arc::new(clock.clone()),
        MailTransport::from_url(&format!("file://{}", mail_dir.display())).unwrap(),
        SmsTransport::from_url(&format!("file://{}", mail_dir.display())).unwrap(),
        "Contoso <no-reply@contoso.example>".parse().unwrap(),
        server.portico().outbox_seal(),
        Arc::clone(&server.server.portico) as _,
    )
    .unwrap()
}

/// A back-channel POST's logout token, checked as Back-Channel Logout 1.0 §2.6 tells an app
/// to: signature against the JWKS, `iss`, `aud`, `iat`/`exp`, explicit `typ`, the event, a
/// `sid`, no `nonce`. Returns the endpoint and the claims.
async fn logout_token(server: &TestServer, heard: &Heard, client_id: &str) -> Value {
    let Heard::Back {
        content_type, body, ..
    } = heard
    else {
        panic!("expected a back-channel POST, got {heard:?}");
    };
    assert_eq!(content_type, "application/x-www-form-urlencoded");
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .expect("a logout_token field");
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let claims = verified_claims(server, &token).await;
    assert_eq!(claims["aud"], client_id);
    assert!(claims.get("nonce").is_none(), "a logout token has no nonce");
    assert_eq!(
        claims["events"],
        json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!((1..=120).contains(&lifetime), "short-lived: {lifetime} s");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    claims
}

fn endpoint(heard: &Heard) -> &str {
    match heard {
        Heard::Back { endpoint, .. } => endpoint,
        Heard::Front { .. } => "front",
    }
}

#[tokio::test]
async fn logging_out_tells_every_app_the_session_served_and_no_other_session() {
    let mut app = App::start().await;
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let a = app.register(&server, Some("a"), false).await;
    let b = app.register(&server, Some("b"), false).await;
    let quiet = app.register(&server, None, false).await;
    let browser = browser();
    let (a_claims, a_id_token) = sign_in(&server, &app, &browser, &a).await;
    let (b_claims, _) = sign_in(&server, &app, &browser, &b).await;
    sign_in(&server, &app, &browser, &quiet).await;
    assert_eq!(a_claims["sid"], b_claims["sid"], "one SSO session");
    // The same person in another browser: a session of its own, which stays.
    let elsewhere = crate::harness::browser();
    let (elsewhere_claims, _) = sign_in(&server, &app, &elsewhere, &a).await;
    assert_ne!(elsewhere_claims["sid"], a_claims["sid"]);

    let out = browser
        .get(server.url("oauth2/v2.0/logout"))
        .query(&[
            ("id_token_hint", a_id_token.as_str()),
            ("post_logout_redirect_uri", &app.callback()),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303, "no front channel: straight to the app");

    let clock = ManualClock::new(server.portico().now());
    let mail = tempfile::tempdir().unwrap();
    assert_eq!(
        worker(&server, &clock, mail.path())
            .run_once()
            .await
            .unwrap(),
        2
    );
    let mut heard = app.drain();
    heard.sort_by(|x, y| endpoint(x).cmp(endpoint(y)));
    assert_eq!(
        heard.iter().map(endpoint).collect::<Vec<_>>(),
        ["a", "b"],
        "the two listening apps of the session, once each"
    );
    for (heard, (client, claims)) in heard.iter().zip([(&a.0, &a_claims), (&b.0, &b_claims)]) {
        let logout = logout_token(&server, heard, client).await;
        assert_eq!(logout["iss"], server.issuer());
        assert_eq!(logout["sub"], claims["sub"], "the app's own subject");
        assert_eq!(logout["sid"], claims["sid"], "the session that ended");
    }
    assert_eq!(
        worker(&server, &clock, mail.path())
            .run_once()
            .await
            .unwrap(),
        0,
        "delivered once"
    );
    // The other browser's session is untouched: it still signs in silently.
    let (again, _) = sign_in(&server, &app, &elsewhere, &b).await;
    assert_eq!(again["sid"], elsewhere_claims["sid"]);
    server.stop().await;
}

#[tokio::test]
async fn signing_a_user_out_everywhere_tells_the_apps_of_each_session() {
    let mut app = App::start().await;
    let server = TestServer::start().await;
    let alice = server.user("alice@example.com").await;
    let a = app.register(&server, Some("a"), false).await;
    let (first, _) = sign_in(&server, &app, &browser(), &a).await;
    let (second, _) = sign_in(&server, &app, &browser(), &a).await;
    server.sign_out_everywhere(alice.id).await;

    let clock = ManualClock::new(server.portico().now());
    let mail = tempfile::tempdir().unwrap();
    assert_eq!(
        worker(&server, &clock, mail.path())
            .run_once()
            .await
            .unwrap(),
        2
    );
    let mut sids = Vec::new();
    for heard in app.drain() {
        let logout = logout_token(&server, &heard, &a.0).await;
        assert_eq!(logout["sub"], first["sub"]);
        sids.push(logout["sid"].as_str().unwrap().to_owned());
    }
    sids.sort();
    let mut expected = [
        first["sid"].as_str().unwrap(),
        second["sid"].as_str().unwrap(),
    ];
    expected.sort();
    assert_eq!(sids, expected);
    server.stop().await;
}

#[tokio::test]
async fn an_app_that_is_down_hears_of_the_logout_when_it_is_back() {
    let mut app = App::start().await;
    let server = TestServer::start().await;
    let alice = server.user("alice@example.com").await;
    let a = app.register(&server, Some("a"), false).await;
    sign_in(&server, &app, &browser(), &a).await;
    app.failures.store(1, Ordering::SeqCst);
    server.sign_out_everywhere(alice.id).await;

    let clock = ManualClock::new(server.portico().now());
    let mail = tempfile::tempdir().unwrap();
    let worker = worker(&server, &clock, mail.path());
    assert_eq!(worker.run_once().await.unwrap(), 1, "tried, answered 503");
    let first = app.drain();
    assert_eq!(first.len(), 1);
    assert_eq!(worker.run_once().await.unwrap(), 0, "not due yet");
    clock.advance(11);
    assert_eq!(worker.run_once().await.unwrap(), 1, "retried");
    let second = app.drain();
    assert_eq!(second.len(), 1);
    let before = logout_token(&server, &first[0], &a.0).await;
    let after = logout_token(&server, &second[0], &a.0).await;
    assert_eq!(before["sid"], after["sid"]);
    assert_ne!(
        before["jti"], after["jti"],
        "a fresh token for each attempt"
    );
    clock.advance(3600);
    assert_eq!(worker.run_once().await.unwrap(), 0, "delivered: done");
    server.stop().await;
}

#[tokio::test]
async fn an_app_that_stopped_listening_is_not_told() {
    let mut app = App::start().await;
    let server = TestServer::start().await;
    let alice = server.user("alice@example.com").await;
    let a = app.register(&server, Some("a"), false).await;
    sign_in(&server, &app, &browser(), &a).await;
    server.sign_out_everywhere(alice.id).await;
    server
        .portico()
        .update_application(
            &TenantRef::Id(server.tenant.id),
            a.0.parse().unwrap(),
            AppChanges {
                backchannel_logout_uri: Some(None),
                ..AppChanges::default()
            },
        )
        .await
        .unwrap();
    let clock = ManualClock::new(server.portico().now());
    let mail = tempfile::tempdir().unwrap();
    let worker = worker(&server, &clock, mail.path());
    assert_eq!(worker.run_once().await.unwrap(), 1);
    assert!(app.drain().is_empty(), "nothing sent to the old URI");
    clock.advance(3600);
    assert_eq!(worker.run_once().await.unwrap(), 0, "given up, not retried");
    server.stop().await;
}

#[tokio::test]
async fn a_captured_logout_token_passes_for_no_other_token() {
    let mut app = App::start().await;
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let a = app.register(&server, Some("a"), false).await;
    // A live session in the victim's browser, which the captured token must not end.
    let victim = browser();
    let (victim_claims, _) = sign_in(&server, &app, &victim, &a).await;
    // Another session ends: its logout token is what an attacker on the app's side could see.
    let other = browser();
    let (_, id_token) = sign_in(&server, &app, &other, &a).await;
    let out = other
        .get(server.url("oauth2/v2.0/logout"))
        .query(&[("id_token_hint", id_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200, "signed out");
    let clock = ManualClock::new(server.portico().now());
    let mail = tempfile::tempdir().unwrap();
    worker(&server, &clock, mail.path())
        .run_once()
        .await
        .unwrap();
    let heard = app.drain();
    let Some(Heard::Back { body, .. }) = heard.first() else {
        panic!("no logout token: {heard:?}");
    };
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert_eq!(
        userinfo_status(&server, &token).await,
        401,
        "not an access token"
    );
    let hint = victim
        .get(server.url("oauth2/v2.0/logout"))
        .query(&[("id_token_hint", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(hint.status(), 400, "not an ID token either");
    let (still, _) = sign_in(&server, &app, &victim, &a).await;
    assert_eq!(
        still["sid"], victim_claims["sid"],
        "the victim is still signed in"
    );
    server.stop().await;
}

#[tokio::test]
async fn logout_uris_are_the_apps_own_and_can_be_removed() {
    let server = TestServer::start().await;
    let admin = Admin::new(&server).await;
    let (status, created) = admin
        .send(
            reqwest::Method::POST,
            "",
            json!({
                "name": "Shop",
                "kind": "web",
                "redirect_uris": ["https://shop.example/callback"],
                "backchannel_logout_uri": "https://api.shop.example/logout",
                "frontchannel_logout_uri": "https://shop.example/signed-out"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/{}", created["client_id"].as_str().unwrap());
    let (_, shown) = admin.send(reqwest::Method::GET, &path, Value::Null).await;
    assert_eq!(
        shown["backchannel_logout_uri"],
        "https://api.shop.example/logout"
    );
    assert_eq!(
        shown["frontchannel_logout_uri"],
        "https://shop.example/signed-out"
    );
    for (field, uri) in [
        ("backchannel_logout_uri", "http://shop.example/logout"),
        ("backchannel_logout_uri", "https://shop.example/logout#x"),
        ("frontchannel_logout_uri", "https://evil.example/signed-out"),
        ("frontchannel_logout_uri", "javascript:alert(1)"),
    ] {
        let (status, body) = admin
            .send(reqwest::Method::PATCH, &path, json!({ field: uri }))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field} {uri}: {body}"
        );
    }
    let (status, body) = admin
        .send(
            reqwest::Method::PATCH,
            &path,
            json!({"backchannel_logout_uri": null, "frontchannel_logout_uri": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["backchannel_logout_uri"], Value::Null);
    assert_eq!(body["frontchannel_logout_uri"], Value::Null);
    let (status, body) = admin
        .send(
            reqwest::Method::POST,
            "",
            json!({"name": "Batch", "kind": "daemon", "backchannel_logout_uri": "https://batch.example/logout"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "daemons serve no sessions: {body}"
    );
    let discovery: Value = reqwest::get(server.url("v2.0/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for flag in [
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
        "frontchannel_logout_supported",
        "frontchannel_logout_session_supported",
    ] {
        assert_eq!(discovery[flag], true, "{flag}");
    }
    server.stop().await;
}

#[tokio::test]
async fn front_channel_logout_frames_each_app_then_returns_to_the_app_in_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let mut app = App::start().await;
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let (client_id, secret) = app.register(&server, None, true).await;
    let chromium = &driver.client;
    let mut authorize = url::Url::parse(&server.url("oauth2/v2.0/authorize")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_id", &client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", &app.callback())
        .append_pair("scope", "openid");
    chromium.goto(authorize.as_str()).await.unwrap();
    fill_and_press(
        chromium,
        "input#email",
        &[
            ("input#email", "alice@example.com"),
            ("input#password", PASSWORD),
        ],
        "button[type=submit]",
    )
    .await;
    let landed = wait_for_url(chromium, &app.callback()).await;
    let code = landed
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let (status, body) = token_request(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("code", &code),
            ("redirect_uri", &app.callback()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id_token = body["id_token"].as_str().unwrap();
    let claims = verified_claims(&server, id_token).await;

    let mut logout = url::Url::parse(&server.url("oauth2/v2.0/logout")).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", &app.callback())
        .append_pair("state", "bye");
    chromium.goto(logout.as_str()).await.unwrap();
    let back = wait_for_url(chromium, &format!("{}?state=bye", app.callback())).await;
    assert_eq!(back.query(), Some("state=bye"));
    let heard = tokio::time::timeout(Duration::from_secs(10), app.heard.recv())
        .await
        .expect("the app's front-channel page was loaded")
        .unwrap();
    let Heard::Front { query } = heard else {
        panic!("expected the front-channel page, got {heard:?}");
    };
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(param(&params, "iss"), Some(server.issuer().as_str()));
    assert_eq!(param(&params, "sid"), claims["sid"].as_str());
    driver.stop().await;
    server.stop().await;
}
