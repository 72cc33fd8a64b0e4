//! Dynamic client registration (RFC 7591) and its management (RFC 7592): off unless the
//! tenant turns it on, gated by initial access tokens an operator makes, each registration
//! managed only with its own registration access token. openid-client registers itself as a
//! Node app would; the attacks: no or a spent token, overspending one concurrently, another
//! client's registration, metadata that would turn Portico against its own network.

use portico_core::directory::{AppKind, TenantRef};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_access::Admin;
use crate::harness::{TestServer, join_all, verified_claims};
use crate::node::openid_client;

/// Turns registration on or off for the test's tenant, through the admin API.
async fn set_registration(server: &TestServer, admin: &Admin, on: bool) {
    let response = admin
        .http
        .put(format!(
            "{}/admin/api/v1/tenants/{}/settings",
            server.base, server.tenant.id
        ))
        .bearer_auth(&admin.token)
        .json(&json!({"dynamic_registration": on}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// A new initial access token for `uses` registrations.
async fn initial_token(server: &TestServer, admin: &Admin, uses: u32) -> (String, String) {
    let response: Value = admin
        .http
        .post(format!(
            "{}/admin/api/v1/tenants/{}/registration-tokens",
            server.base, server.tenant.id
        ))
        .bearer_auth(&admin.token)
        .json(&json!({"uses": uses}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        response["initial_access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        response["id"].as_str().unwrap().to_owned(),
    )
}

/// POSTs client metadata to the registration endpoint with `token`.
async fn register(
    server: &TestServer,
    token: Option<&str>,
    metadata: Value,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/register"))
        .json(&metadata);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// Calls a registration's management URI.
async fn manage(
    method: reqwest::Method,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, uri)
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

fn spa(origin: &str) -> Value {
    json!({
        "client_name": "Shop",
        "redirect_uris": [format!("{origin}/callback")],
        "token_endpoint_auth_method": "none",
    })
}

#[tokio::test]
async fn openid_client_registers_itself_with_an_initial_access_token() {
    let server = TestServer::start().await;
    let admin = Admin::new(&server).await;
    set_registration(&server, &admin, true).await;
    let discovery: Value = reqwest::get(server.url("v2.0/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["registration_endpoint"],
        server.url("oauth2/v2.0/register")
    );
    let (token, _) = initial_token(&server, &admin, 1).await;
    let args = vec![server.issuer(), token.clone(), server.redirect_uri()];
    let Some(out) =
        tokio::task::spawn_blocking(move || openid_client("register_client.mjs", &args))
            .await
            .unwrap()
    else {
        return;
    };
    let client_id = out["client_id"].as_str().unwrap();
    let claims = verified_claims(&server, out["access_token"].as_str().unwrap()).await;
    assert_eq!(
        claims["aud"], client_id,
        "the registered client got a token"
    );
    let app = server
        .portico()
        .show_application(&TenantRef::Id(server.tenant.id), client_id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (app.kind, app.name.as_str()),
        (AppKind::Web, "Self-registered shop")
    );
    // The token allowed one registration: it is spent.
    let (status, body) = register(&server, Some(&token), spa(&server.app_origin)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_token");
    server.stop().await;
}

#[tokio::test]
async fn registration_is_off_unless_the_tenant_turns_it_on() {
    let server = TestServer::start().await;
    let admin = Admin::new(&server).await;
    let (token, id) = initial_token(&server, &admin, 5).await;
    let discovery: Value = reqwest::get(server.url("v2.0/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(discovery.get("registration_endpoint").is_none());
    let (status, _) = register(&server, Some(&token), spa(&server.app_origin)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "off: no token is good");
    set_registration(&server, &admin, true).await;
    let (status, body) = register(&server, Some(&token), spa(&server.app_origin)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        body.get("client_secret").is_none(),
        "a public client has no secret"
    );
    // No token, a made-up one, a revoked one: all the same answer.
    let (status, _) = register(&server, None, spa(&server.app_origin)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = register(&server, Some("made-up"), spa(&server.app_origin)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    server
        .portico()
        .revoke_initial_access_token(&TenantRef::Id(server.tenant.id), &id)
        .await
        .unwrap();
    let (status, _) = register(&server, Some(&token), spa(&server.app_origin)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
    server.stop().await;
}

#[tokio::test]
async fn metadata_that_breaks_the_rules_is_refused_without_spending_the_token() {
    let server = TestServer::start().await;
    let admin = Admin::new(&server).await;
    set_registration(&server, &admin, true).await;
    let (token, _) = initial_token(&server, &admin, 1).await;
    let origin = server.app_origin.clone();
    for (metadata, error) in [
        (
            json!({"redirect_uris": ["http://shop.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"grant_types": ["authorization_code"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": [format!("{origin}/cb")], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [format!("{origin}/cb")], "response_types": ["id_token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [format!("{origin}/cb")],
                   "grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"]}),
            "invalid_client_metadata",
        ),
        // Back-channel logout at the server's own network: an SSRF through the outbox.
        (
            json!({"redirect_uris": [format!("{origin}/cb")],
                   "backchannel_logout_uri": "https://169.254.169.254/latest/meta-data"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [format!("{origin}/cb")],
                   "backchannel_logout_uri": "https://localhost/logout"}),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ] {
        let (status, body) = register(&server, Some(&token), metadata.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{metadata}: {body}");
        assert_eq!(body["error"], error, "{metadata}: {body}");
    }
    let (status, body) = register(&server, Some(&token), spa(&origin)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the token was not spent: {body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_initial_access_token_is_never_overspent() {
    let server = TestServer::start().await;
    let admin = Admin::new(&server).await;
    set_registration(&server, &admin, true).await;
    let (token, _) = initial_token(&server, &admin, 2).await;
    let origin = server.app_origin.clone();
    let attempts = (0..6)
        .map(|_| register(&server, Some(&token), spa(&origin)))
        .collect();
    let statuses: Vec<StatusCode> = join_all(attempts)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        2,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| matches!(*s, StatusCode::CREATED | StatusCode::UNAUTHORIZED))
    );
    server.stop().await;
}

#[tokio::test]
async fn a_registered_client_manages_its_own_registration_and_nothing_else() {
    let server = TestServer::start().await;
    let admin = Admin::new(&server).await;
    set_registration(&server, &admin, true).await;
    let (token, _) = initial_token(&server, &admin, 2).await;
    let origin = server.app_origin.clone();
    let (status, mine) = register(&server, Some(&token), spa(&origin)).await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    let (_, theirs) = register(&server, Some(&token), spa(&origin)).await;
    let uri = mine["registration_client_uri"].as_str().unwrap();
    let access = mine["registration_access_token"].as_str().unwrap();
    // Its logout link does not redirect without an ID token of the session: anyone with an
    // initial access token could otherwise make Portico an open redirect.
    let logout = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(server.url("oauth2/v2.0/logout"))
        .query(&[
            ("client_id", mine["client_id"].as_str().unwrap()),
            ("post_logout_redirect_uri", &format!("{origin}/callback")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        uri,
        server.url(&format!(
            "oauth2/v2.0/register/{}",
            mine["client_id"].as_str().unwrap()
        ))
    );
    let (status, read) = manage(reqwest::Method::GET, uri, access, None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["redirect_uris"], mine["redirect_uris"]);
    assert!(
        read.get("registration_access_token").is_none(),
        "shown once"
    );
    // Another client's token, an operator's app, a wrong token: nothing to see.
    let theirs_uri = theirs["registration_client_uri"].as_str().unwrap();
    let (status, _) = manage(reqwest::Method::GET, theirs_uri, access, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (operators, _) = server.app(AppKind::Web).await;
    let operators_uri = server.url(&format!("oauth2/v2.0/register/{operators}"));
    let (status, _) = manage(reqwest::Method::DELETE, &operators_uri, access, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = manage(reqwest::Method::GET, uri, "not-the-token", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A full replacement: new redirect URIs; but not another kind of client.
    let mut changed = spa(&origin);
    changed["client_id"] = mine["client_id"].clone();
    changed["redirect_uris"] = json!([format!("{origin}/callback"), format!("{origin}/other")]);
    let (status, updated) = manage(reqwest::Method::PUT, uri, access, Some(changed.clone())).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["redirect_uris"].as_array().unwrap().len(), 2);
    changed["token_endpoint_auth_method"] = "client_secret_basic".into();
    let (status, body) = manage(reqwest::Method::PUT, uri, access, Some(changed)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_client_metadata"))
    );
    let (status, _) = manage(reqwest::Method::DELETE, uri, access, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = manage(reqwest::Method::GET, uri, access, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "gone");
    assert!(
        server
            .portico()
            .show_application(
                &TenantRef::Id(server.tenant.id),
                mine["client_id"].as_str().unwrap().parse().unwrap()
            )
            .await
            .is_err()
    );
    let (status, _) = manage(reqwest::Method::DELETE, &operators_uri, access, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the operator's app stays");
    server.stop().await;
}

#[tokio::test]
async fn a_confidential_registration_reports_and_changes_how_it_authenticates() {
    let server = TestServer::start().await;
    let admin = Admin::new(&server).await;
    set_registration(&server, &admin, true).await;
    let (token, _) = initial_token(&server, &admin, 1).await;
    let callback = format!("{}/callback", server.app_origin);
    let metadata = json!({
        "client_name": "Backend",
        "redirect_uris": [callback],
        "grant_types": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
    });
    let (status, created) = register(&server, Some(&token), metadata.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(created["client_secret_expires_at"].as_i64().unwrap() > 0);
    let uri = created["registration_client_uri"].as_str().unwrap();
    let access = created["registration_access_token"].as_str().unwrap();
    let (_, read) = manage(reqwest::Method::GET, uri, access, None).await;
    assert_eq!(read["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(
        read["client_secret_expires_at"],
        created["client_secret_expires_at"]
    );
    let client_credentials = |secret: Option<String>, assertion: Option<String>| {
        let server = &server;
        let client_id = client_id.clone();
        async move {
            let scope = format!("{client_id}/.default");
            let mut form = vec![
                ("grant_type", "client_credentials".to_owned()),
                ("client_id", client_id.clone()),
                ("scope", scope),
            ];
            if let Some(secret) = secret {
                form.push(("client_secret", secret));
            }
            if let Some(assertion) = assertion {
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ));
                form.push(("client_assertion", assertion));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            crate::harness::token_request(server, &form).await.0
        }
    };
    assert_eq!(client_credentials(Some(secret.clone()), None).await, 200);
    // An operator's API, which granted the registered client no role: no app-only token.
    let (api, _) = server.app(AppKind::Web).await;
    let (status, body) = crate::harness::token_request(
        &server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("scope", &format!("{api}/.default")),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    // To keys: the secret stops working.
    let (key, jwk) = crate::private_key_jwt::es256_key();
    let mut to_keys = metadata.clone();
    to_keys["client_id"] = client_id.clone().into();
    to_keys["token_endpoint_auth_method"] = "private_key_jwt".into();
    to_keys["jwks"] = json!({"keys": [jwk]});
    let (status, moved) = manage(reqwest::Method::PUT, uri, access, Some(to_keys)).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(moved["client_secret_expires_at"], 0);
    assert_eq!(client_credentials(Some(secret), None).await, 401);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("k1".into());
    let assertion = jsonwebtoken::encode(
        &header,
        &json!({"iss": client_id, "sub": client_id, "aud": server.url("oauth2/v2.0/token"),
                "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 60}),
        &key,
    )
    .unwrap();
    assert_eq!(client_credentials(None, Some(assertion)).await, 200);
    // Back to a secret: a new one, shown once.
    let mut back = metadata;
    back["client_id"] = client_id.clone().into();
    let (status, again) = manage(reqwest::Method::PUT, uri, access, Some(back)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let fresh = again["client_secret"]
        .as_str()
        .expect("a new secret")
        .to_owned();
    assert_eq!(client_credentials(Some(fresh), None).await, 200);
    server.stop().await;
}
