//! APIs and who may call them: an app exposes scopes and roles, an administrator grants a
//! client some of them, users are assigned roles, and the tokens a third-party client gets
//! (the `openidconnect` crate) carry exactly that, as the API checking them sees it
//! (`aud` is the API, verified against the JWKS with `jsonwebtoken`).

use openidconnect::OAuth2TokenResponse;
use portico_core::directory::AppKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{
    TestServer, authorize_and_sign_in, browser, location_params, oidc_http, param, token_request,
};
use crate::rp::{auth_query, no_redirects, oidc_client, pairs, sign_in, verified_claims};

/// The admin API of `server`, with a token of its own.
pub(crate) struct Admin {
    pub(crate) base: String,
    pub(crate) token: String,
    pub(crate) http: reqwest::Client,
}

impl Admin {
    pub(crate) async fn new(server: &TestServer) -> Self {
        Self {
            base: format!(
                "{}/admin/api/v1/tenants/{}/applications",
                server.base, server.tenant.id
            ),
            token: server.portico().create_admin_token().await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Makes `api` the Orders API: two scopes, a role for users and one for apps.
    pub(crate) async fn expose_orders(&self, api: &str) {
        let (status, body) = self
            .send(
                reqwest::Method::PUT,
                &format!("/{api}/api"),
                json!({
                    "identifier_uri": "api://orders",
                    "scopes": [
                        {"name": "Orders.Read", "admin_consent_description": "Read all orders"},
                        {"name": "Orders.Write"}
                    ],
                    "roles": [
                        {"name": "Orders.Admin", "allowed": "users"},
                        {"name": "Orders.Sync", "allowed": "apps"}
                    ]
                }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["identifier_uri"], "api://orders");
        assert_eq!(
            body["api"]["scopes"][0]["user_consent_description"],
            "Read all orders"
        );
    }

    pub(crate) async fn grant(
        &self,
        client: &str,
        api: &str,
        scopes: &[&str],
        roles: &[&str],
    ) -> (StatusCode, Value) {
        self.send(
            reqwest::Method::POST,
            &format!("/{client}/permissions"),
            json!({"api": api, "scopes": scopes, "roles": roles}),
        )
        .await
    }

    pub(crate) async fn assign(&self, api: &str, role: &str, user: &str) -> StatusCode {
        self.send(
            reqwest::Method::POST,
            &format!("/{api}/role-assignments"),
            json!({"role": role, "user": user}),
        )
        .await
        .0
    }
}

/// GETs the authorization request without signing in: where it leads.
pub(crate) async fn authorize_redirect(
    server: &TestServer,
    query: &[(String, String)],
) -> Vec<(String, String)> {
    let response = no_redirects()
        .get(server.url("oauth2/v2.0/authorize"))
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302, "redirected, not a sign-in page");
    location_params(&response)
}

#[tokio::test]
async fn a_client_gets_an_apis_scopes_and_the_users_roles_only_as_granted() {
    let server = TestServer::start().await;
    let alice = server.user("alice@example.com").await;
    let admin = Admin::new(&server).await;
    let (api, _) = server.app(AppKind::Web).await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    let secret = secret.unwrap();
    admin.expose_orders(&api).await;
    let client = oidc_client(&server, &client_id, &secret).await;

    // A scope the API does not expose is refused before anyone signs in; one it exposes
    // but nobody granted leads to the sign-in (and then the user's consent: consent.rs).
    let (query, _) = auth_query(&client, &["api://orders/Orders.Delete"]);
    let refused = authorize_redirect(&server, &query).await;
    assert_eq!(param(&refused, "error"), Some("invalid_scope"));
    let (query, _) = auth_query(&client, &["api://orders/Orders.Read"]);
    let page = no_redirects()
        .get(server.url("oauth2/v2.0/authorize"))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the sign-in page");

    // A scope the API does not expose, or a user role, cannot be granted; a scope can.
    // An API cannot take an OpenID Connect scope name, nor another app's client id as URI.
    for (uri, scope) in [
        ("api://orders".to_owned(), "openid"),
        (format!("api://{client_id}"), "Orders.Read"),
    ] {
        let (status, _) = admin
            .send(
                reqwest::Method::PUT,
                &format!("/{api}/api"),
                json!({"identifier_uri": uri, "scopes": [{"name": scope}]}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri} {scope}");
    }
    let (status, _) = admin.grant(&client_id, &api, &["Orders.Delete"], &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = admin.grant(&client_id, &api, &[], &["Orders.Admin"]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, held) = admin.grant(&client_id, &api, &["Orders.Read"], &[]).await;
    assert_eq!(status, StatusCode::OK, "{held}");
    assert_eq!(
        held,
        json!([{"api": api, "kind": "scope", "name": "Orders.Read",
        "created_at": held[0]["created_at"]}])
    );
    assert_eq!(
        admin
            .assign(&api, "Orders.Admin", "alice@example.com")
            .await,
        StatusCode::CREATED
    );
    // A role for apps is not for users.
    assert_eq!(
        admin.assign(&api, "Orders.Sync", "alice@example.com").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (status, listed) = admin
        .send(
            reqwest::Method::GET,
            &format!("/{api}/role-assignments"),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed,
        json!([{"api": api, "role": "Orders.Admin", "user_id": alice.id.to_string()}])
    );

    let scopes = ["api://orders/Orders.Read", "offline_access"];
    let tokens = sign_in(&server, &client, &scopes, "alice@example.com").await;
    let http = oidc_http(no_redirects());
    let granted: Vec<String> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(
        granted.contains(&"api://orders/Orders.Read".to_owned()),
        "{granted:?}"
    );
    let access = verified_claims(&server, tokens.access_token().secret()).await;
    assert_eq!(access["aud"], api.as_str(), "the token is for the API");
    assert_eq!(access["azp"], client_id.as_str());
    assert_eq!(access["scp"], "Orders.Read");
    assert_eq!(access["roles"], json!(["Orders.Admin"]));
    assert_eq!(access["oid"], alice.id.to_string());
    // One scope named by two names of the API counts once.
    let by_id = format!("{api}/Orders.Read");
    let twice = sign_in(
        &server,
        &client,
        &["api://orders/Orders.Read", &by_id],
        "alice@example.com",
    )
    .await;
    let access = verified_claims(&server, twice.access_token().secret()).await;
    assert_eq!(access["scp"], "Orders.Read");

    // A scope the API does not expose, two APIs in one request, and a mix with /.default:
    // refused.
    let (other_api, _) = server.app(AppKind::Web).await;
    for scopes in [
        vec!["api://orders/Orders.Delete"],
        vec!["api://orders/Orders.Read", &format!("{other_api}/.default")],
        vec!["api://orders/Orders.Read", "api://orders/.default"],
        vec!["User.Read"],
    ] {
        let (query, _) = auth_query(&client, &scopes);
        let refused = authorize_redirect(&server, &query).await;
        assert_eq!(
            param(&refused, "error"),
            Some("invalid_scope"),
            "{scopes:?}"
        );
    }

    // The API may set a shorter access-token lifetime: tokens for it live that long.
    let (status, _) = admin
        .send(
            reqwest::Method::PATCH,
            &format!("/{api}"),
            json!({"access_token_lifetime_secs": 600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let refresh = tokens.refresh_token().unwrap().clone();
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    assert_eq!(
        refreshed.expires_in(),
        Some(std::time::Duration::from_secs(600))
    );
    let access = verified_claims(&server, refreshed.access_token().secret()).await;
    assert_eq!(
        (access["aud"].as_str(), access["scp"].as_str()),
        (Some(api.as_str()), Some("Orders.Read"))
    );

    // Taking the role back: the next token goes without it.
    let (status, _) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/{api}/role-assignments/Orders.Admin/alice@example.com"),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let refreshed = client
        .exchange_refresh_token(&refreshed.refresh_token().unwrap().clone())
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let access = verified_claims(&server, refreshed.access_token().secret()).await;
    assert!(access.get("roles").is_none(), "{access}");

    // Taking the grant back takes effect at the next refresh.
    let (status, _) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/{client_id}/permissions/{api}/scope/Orders.Read"),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let after = client
        .exchange_refresh_token(refreshed.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await;
    assert!(after.is_err(), "a revoked grant gives no more tokens");
    // The refused refresh did not spend the token: granted again, it works (a spent one
    // would read as a replay and end the sign-in).
    admin.grant(&client_id, &api, &["Orders.Read"], &[]).await;
    client
        .exchange_refresh_token(refreshed.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await
        .expect("the same refresh token still works");
    server.stop().await;
}

#[tokio::test]
async fn default_scope_and_client_credentials_carry_what_is_granted() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let admin = Admin::new(&server).await;
    let (api, _) = server.app(AppKind::Web).await;
    admin.expose_orders(&api).await;
    let (daemon, daemon_secret) = server.app(AppKind::Daemon).await;
    let daemon_secret = daemon_secret.unwrap();
    let app_token = |scope: String| {
        let (daemon, secret) = (daemon.clone(), daemon_secret.clone());
        let server = &server;
        async move {
            token_request(
                server,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &daemon),
                    ("client_secret", &secret),
                    ("scope", &scope),
                ],
            )
            .await
        }
    };
    // Before any grant: a token without roles (the API decides what that is worth).
    let (status, body) = app_token("api://orders/.default".into()).await;
    assert_eq!(status, 200, "{body}");
    let claims = verified_claims(&server, body["access_token"].as_str().unwrap()).await;
    assert!(claims.get("roles").is_none());
    let (status, _) = admin.grant(&daemon, &api, &[], &["Orders.Sync"]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app_token(format!("{api}/.default")).await;
    assert_eq!(status, 200, "{body}");
    let claims = verified_claims(&server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["aud"], api.as_str());
    assert_eq!(claims["roles"], json!(["Orders.Sync"]));
    assert_eq!(claims["azpacr"], "1");
    assert!(claims.get("scp").is_none(), "app-only tokens carry no scp");

    // /.default for a user: every granted delegated scope.
    let (client_id, secret) = server.app(AppKind::Web).await;
    admin
        .grant(&client_id, &api, &["Orders.Read", "Orders.Write"], &[])
        .await;
    let client = oidc_client(&server, &client_id, &secret.unwrap()).await;
    let tokens = sign_in(
        &server,
        &client,
        &["api://orders/.default"],
        "alice@example.com",
    )
    .await;
    let access = verified_claims(&server, tokens.access_token().secret()).await;
    assert_eq!(access["scp"], "Orders.Read Orders.Write");
    assert!(access.get("roles").is_none(), "alice holds no role");
    server.stop().await;
}

#[tokio::test]
async fn an_unassigned_user_or_app_gets_no_token_for_an_assignment_required_api() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    server.user("bob@example.com").await;
    let admin = Admin::new(&server).await;
    let (api, _) = server.app(AppKind::Web).await;
    admin.expose_orders(&api).await;
    let (status, _) = admin
        .send(
            reqwest::Method::PATCH,
            &format!("/{api}"),
            json!({"assignment_required": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (client_id, secret) = server.app(AppKind::Web).await;
    admin.grant(&client_id, &api, &["Orders.Read"], &[]).await;
    assert_eq!(
        admin
            .assign(&api, "Orders.Admin", "alice@example.com")
            .await,
        StatusCode::CREATED
    );
    let client = oidc_client(&server, &client_id, &secret.unwrap()).await;

    // Bob signs in fine, but goes back to the app with access_denied, not with a code.
    let (query, _) = auth_query(&client, &["api://orders/Orders.Read"]);
    let redirect =
        authorize_and_sign_in(&server, &browser(), &pairs(&query), "bob@example.com").await;
    assert_eq!(
        param(&redirect, "error"),
        Some("access_denied"),
        "{redirect:?}"
    );
    assert!(param(&redirect, "code").is_none());
    // Alice holds a role: she gets her token, with it.
    let tokens = sign_in(
        &server,
        &client,
        &["api://orders/Orders.Read"],
        "alice@example.com",
    )
    .await;
    let access = verified_claims(&server, tokens.access_token().secret()).await;
    assert_eq!(access["roles"], json!(["Orders.Admin"]));

    // A daemon with no role of the API is refused; granted one, it gets its token.
    let (daemon, daemon_secret) = server.app(AppKind::Daemon).await;
    let daemon_secret = daemon_secret.unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", daemon.as_str()),
        ("client_secret", daemon_secret.as_str()),
        ("scope", "api://orders/.default"),
    ];
    let (status, body) = token_request(&server, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    admin.grant(&daemon, &api, &[], &["Orders.Sync"]).await;
    let (status, body) = token_request(&server, &form).await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn another_tenants_api_can_be_neither_granted_nor_asked_for() {
    let server = TestServer::start().await;
    let admin = Admin::new(&server).await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    // Fabrikam's API, named api://orders too.
    let fabrikam = server
        .portico()
        .create_tenant("fabrikam", portico_keys::SigningAlgorithm::Rs256)
        .await
        .unwrap();
    let theirs = server
        .portico()
        .create_application(
            &portico_core::directory::TenantRef::Id(fabrikam.id),
            portico_core::directory::NewApplication {
                name: "Orders".into(),
                kind: AppKind::Web,
                redirect_uris: Vec::new(),
                identifier_uri: None,
                optional_claims: Vec::new(),
                native_auth: false,
                cors_origins: Vec::new(),
                client_keys: Vec::new(),
                logout: Default::default(),
            },
        )
        .await
        .unwrap()
        .application
        .client_id
        .to_string();
    let their_admin = Admin {
        base: format!("{}/admin/api/v1/tenants/fabrikam/applications", server.base),
        ..Admin::new(&server).await
    };
    their_admin.expose_orders(&theirs).await;
    // Granting it to a Contoso client: no such API in Contoso.
    let (status, body) = admin
        .grant(&client_id, &theirs, &["Orders.Read"], &[])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Asking for it by client id or by its identifier URI: not registered here.
    let client = oidc_client(&server, &client_id, &secret.unwrap()).await;
    for scope in [
        format!("{theirs}/Orders.Read"),
        "api://orders/Orders.Read".to_owned(),
    ] {
        let (query, _) = auth_query(&client, &[&scope]);
        let refused = authorize_redirect(&server, &query).await;
        assert_eq!(param(&refused, "error"), Some("invalid_scope"), "{scope}");
    }
    server.stop().await;
}

/// An operator moves `api://orders` from one API to another: refresh tokens issued for the
/// first do not turn into tokens for the second.
#[tokio::test]
async fn a_refresh_token_stays_with_the_api_it_was_issued_for_when_its_name_moves() {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let admin = Admin::new(&server).await;
    let (first, _) = server.app(AppKind::Web).await;
    let (second, _) = server.app(AppKind::Web).await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    admin.expose_orders(&first).await;
    admin.grant(&client_id, &first, &["Orders.Read"], &[]).await;
    let client = oidc_client(&server, &client_id, &secret.unwrap()).await;
    let tokens = sign_in(
        &server,
        &client,
        &["api://orders/Orders.Read", "offline_access"],
        "alice@example.com",
    )
    .await;
    let access = verified_claims(&server, tokens.access_token().secret()).await;
    assert_eq!(access["aud"], first.as_str());
    // Narrowed to the OpenID Connect scopes, a refresh is for the client itself: fine.
    let narrowed = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .add_scope(openidconnect::Scope::new("openid".into()))
        .request_async(&oidc_http(no_redirects()))
        .await
        .expect("a narrowed refresh");
    let tokens = narrowed;
    // The name moves: the first API takes another, the second takes api://orders.
    let (status, _) = admin
        .send(
            reqwest::Method::PUT,
            &format!("/{first}/api"),
            json!({"identifier_uri": "api://orders-v1", "scopes": [{"name": "Orders.Read"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    admin.expose_orders(&second).await;
    admin
        .grant(&client_id, &second, &["Orders.Read"], &[])
        .await;
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&oidc_http(no_redirects()))
        .await;
    assert!(
        refreshed.is_err(),
        "a token for the first API must not become one for the second"
    );
    server.stop().await;
}
