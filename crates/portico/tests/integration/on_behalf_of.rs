//! On-behalf-of (Entra's OBO): a middle-tier API trades the user's access token it received
//! for a token to a downstream API, as that user, with exactly Entra's parameters. The
//! tokens are checked against the JWKS as the downstream API would (`jsonwebtoken`); the
//! user's token comes from a sign-in through the pages with the `openidconnect` crate.

use openidconnect::OAuth2TokenResponse;
use portico_core::directory::AppKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_access::Admin;
use crate::harness::{TestServer, token_request};
use crate::rp::{oidc_client, sign_in, verified_claims};

const OBO: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The middle tier (a web app exposing `api://middle`), the downstream Orders API, and a
/// client app granted the middle tier's scope; alice's access token for the middle tier.
struct Chain {
    server: TestServer,
    admin: Admin,
    middle: String,
    middle_secret: String,
    orders: String,
    user_token: String,
}

async fn chain() -> Chain {
    let server = TestServer::start().await;
    server.user("alice@example.com").await;
    let admin = Admin::new(&server).await;
    let (middle, middle_secret) = server.app(AppKind::Web).await;
    let (orders, _) = server.app(AppKind::Web).await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    let (status, _) = admin
        .send(
            reqwest::Method::PUT,
            &format!("/{middle}/api"),
            json!({"identifier_uri": "api://middle", "scopes": [{"name": "Access"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    admin.expose_orders(&orders).await;
    admin.grant(&client_id, &middle, &["Access"], &[]).await;
    let client = oidc_client(&server, &client_id, &secret.unwrap()).await;
    let tokens = sign_in(
        &server,
        &client,
        &["api://middle/Access"],
        "alice@example.com",
    )
    .await;
    let user_token = tokens.access_token().secret().clone();
    Chain {
        server,
        admin,
        middle,
        middle_secret: middle_secret.unwrap(),
        orders,
        user_token,
    }
}

impl Chain {
    /// The middle tier's OBO request (client_secret_post, as MSAL sends it).
    async fn obo(&self, assertion: &str, scope: &str) -> (u16, Value) {
        token_request(
            &self.server,
            &[
                ("grant_type", OBO),
                ("client_id", &self.middle),
                ("client_secret", &self.middle_secret),
                ("assertion", assertion),
                ("scope", scope),
                ("requested_token_use", "on_behalf_of"),
            ],
        )
        .await
    }
}

#[tokio::test]
async fn a_middle_tier_gets_a_downstream_token_as_the_user_only_as_granted() {
    let c = chain().await;
    let server = &c.server;
    let incoming = verified_claims(server, &c.user_token).await;
    assert_eq!(incoming["aud"], c.middle.as_str());
    // Not granted the downstream scope yet: refused.
    let (status, body) = c.obo(&c.user_token, "api://orders/Orders.Read").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    c.admin
        .grant(&c.middle, &c.orders, &["Orders.Read"], &[])
        .await;
    let (status, body) = c
        .obo(
            &c.user_token,
            "api://orders/Orders.Read openid offline_access",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let downstream = verified_claims(server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(downstream["aud"], c.orders.as_str());
    assert_eq!(
        downstream["azp"],
        c.middle.as_str(),
        "the caller is the client"
    );
    assert_eq!(downstream["azpacr"], "1");
    assert_eq!(downstream["oid"], incoming["oid"], "still the user");
    assert_eq!(downstream["scp"], "Orders.Read");
    assert!(
        downstream["exp"].as_i64() <= incoming["exp"].as_i64(),
        "never outlives the user's token"
    );
    // A token for the caller itself would be a new assertion: a chain that renews itself.
    let (status, body) = c.obo(&c.user_token, "openid").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    // The middle tier revokes what it got: the user's own sign-in with the client stands.
    let (status, _) = token_request_at(
        server,
        "oauth2/v2.0/revoke",
        &[
            ("client_id", &c.middle),
            ("client_secret", &c.middle_secret),
            (
                "token",
                body_token(&c, "api://orders/Orders.Read").await.as_str(),
            ),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        server
            .portico()
            .verify_access_token(&server.tenant, &c.user_token)
            .await
            .is_ok(),
        "another client cannot end the user's grant"
    );
    c.server.stop().await;
}

/// A fresh downstream token for the chain's middle tier.
async fn body_token(c: &Chain, scope: &str) -> String {
    let (status, body) = c.obo(&c.user_token, scope).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// POSTs a form to `path` of the tenant; the status and JSON body (if any).
async fn token_request_at(server: &TestServer, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_assertion_for_someone_else_or_of_an_ended_sign_in_buys_nothing() {
    let c = chain().await;
    let server = &c.server;
    c.admin
        .grant(&c.middle, &c.orders, &["Orders.Read"], &[])
        .await;
    let scope = "api://orders/Orders.Read";
    // Another confidential app presenting the user's token for the middle tier: its audience
    // is not the caller.
    let (thief, thief_secret) = server.app(AppKind::Web).await;
    c.admin
        .grant(&thief, &c.orders, &["Orders.Read"], &[])
        .await;
    let (_, body) = token_request(
        server,
        &[
            ("grant_type", OBO),
            ("client_id", &thief),
            ("client_secret", thief_secret.as_deref().unwrap()),
            ("assertion", &c.user_token),
            ("scope", scope),
            ("requested_token_use", "on_behalf_of"),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_grant", "{body}");
    // An app-only token of the middle tier speaks for no user.
    let (_, app_only) = token_request(
        server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &c.middle),
            ("client_secret", &c.middle_secret),
            ("scope", &format!("{}/.default", c.middle)),
        ],
    )
    .await;
    let (_, body) = c
        .obo(app_only["access_token"].as_str().unwrap(), scope)
        .await;
    assert_eq!(body["error"], "invalid_grant", "{body}");
    // A forged signature, and a missing requested_token_use.
    let mut forged = c.user_token.clone();
    forged.pop();
    forged.push(if c.user_token.ends_with('A') {
        'B'
    } else {
        'A'
    });
    let (_, body) = c.obo(&forged, scope).await;
    assert_eq!(body["error"], "invalid_grant");
    let (_, body) = token_request(
        server,
        &[
            ("grant_type", OBO),
            ("client_id", &c.middle),
            ("client_secret", &c.middle_secret),
            ("assertion", &c.user_token),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_request");
    // A wrong secret is the client's failure.
    let (status, body) = token_request(
        server,
        &[
            ("grant_type", OBO),
            ("client_id", &c.middle),
            ("client_secret", "wrong"),
            ("assertion", &c.user_token),
            ("scope", scope),
            ("requested_token_use", "on_behalf_of"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Works now; after the user is signed out everywhere, the same assertion buys nothing,
    // and what was issued on their behalf is revoked with their sign-in.
    let (status, body) = c.obo(&c.user_token, scope).await;
    assert_eq!(status, 200, "{body}");
    let downstream = body["access_token"].as_str().unwrap().to_owned();
    let alice = server
        .portico()
        .find_user(
            &portico_core::directory::TenantRef::Id(server.tenant.id),
            "alice@example.com",
        )
        .await
        .unwrap();
    server.sign_out_everywhere(alice.id).await;
    let (_, body) = c.obo(&c.user_token, scope).await;
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(
        server
            .portico()
            .verify_access_token(&server.tenant, &downstream)
            .await
            .is_err(),
        "the downstream token ended with the sign-in"
    );
    c.server.stop().await;
}

#[tokio::test]
async fn another_tenants_user_token_is_no_assertion_here() {
    let c = chain().await;
    let server = &c.server;
    c.admin
        .grant(&c.middle, &c.orders, &["Orders.Read"], &[])
        .await;
    // Fabrikam has a middle tier of its own: contoso's user token, signed by contoso's key
    // and naming contoso's tenant, is no assertion there.
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
                name: "Middle".into(),
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
        .unwrap();
    let their_id = theirs.application.client_id.to_string();
    let response = reqwest::Client::new()
        .post(format!("{}/{}/oauth2/v2.0/token", server.base, fabrikam.id))
        .form(&[
            ("grant_type", OBO),
            ("client_id", their_id.as_str()),
            ("client_secret", theirs.client_secret.as_deref().unwrap()),
            ("assertion", c.user_token.as_str()),
            ("scope", "openid"),
            ("requested_token_use", "on_behalf_of"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
    c.server.stop().await;
}

/// MSAL for Python's own on-behalf-of call, over HTTPS, with a user token from a sign-in on
/// the pages: MSAL decides whether the answer is acceptable.
#[tokio::test]
async fn msal_python_acts_on_behalf_of_the_user() {
    if !crate::https::msal_available() {
        return;
    }
    let cert = crate::https::test_cert();
    let server = crate::https::https_server(&cert, None).await;
    let alice = server.user("alice@example.com").await;
    let admin = Admin::new(&server).await;
    let admin = Admin {
        http: cert.browser(),
        ..admin
    };
    let (middle, middle_secret) = server.app(AppKind::Web).await;
    let (orders, _) = server.app(AppKind::Web).await;
    let (client_id, client_secret) = server.app(AppKind::Web).await;
    let (status, _) = admin
        .send(
            reqwest::Method::PUT,
            &format!("/{middle}/api"),
            json!({"identifier_uri": "api://middle", "scopes": [{"name": "Access"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    admin.expose_orders(&orders).await;
    admin.grant(&client_id, &middle, &["Access"], &[]).await;
    admin.grant(&middle, &orders, &["Orders.Read"], &[]).await;
    // Alice signs in to the client app; it redeems the code for her token to the middle tier.
    let browser = cert.browser();
    let redirect_uri = server.redirect_uri();
    let redirect = crate::harness::authorize_and_sign_in(
        &server,
        &browser,
        &[
            ("client_id", &client_id),
            ("response_type", "code"),
            ("redirect_uri", &redirect_uri),
            ("scope", "openid api://middle/Access"),
        ],
        "alice@example.com",
    )
    .await;
    let code = crate::harness::param(&redirect, "code").unwrap().to_owned();
    let redeemed: Value = browser
        .post(server.url("oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_deref().unwrap()),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_token = redeemed["access_token"].as_str().unwrap();
    let script = r#"
import json, sys, msal
authority, client_id, secret, assertion = sys.argv[1:5]
app = msal.ConfidentialClientApplication(
    client_id, client_credential=secret, authority=authority,
    validate_authority=False, instance_discovery=False)
result = app.acquire_token_on_behalf_of(assertion, scopes=["api://orders/Orders.Read"])
print(json.dumps({k: result.get(k) for k in ("access_token", "error", "error_description")}))
"#;
    let base = format!("{}/contoso", server.base);
    let claims = crate::https::msal_token_claims(
        &cert,
        script,
        &[
            &base,
            &middle,
            middle_secret.as_deref().unwrap(),
            user_token,
        ],
    )
    .await;
    assert_eq!(claims["aud"], orders.as_str());
    assert_eq!(claims["azp"], middle.as_str());
    assert_eq!(claims["oid"], alice.id.to_string());
    server.stop().await;
}
