//! Starting isolated servers and driving the hosted sign-in form.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use portico::server::{self, RunningServer, ServeOptions};
use portico_core::Portico;
use portico_core::directory::{AppKind, NewApplication, NewUser, Tenant, TenantRef, User};
use portico_core::store::Store;
use portico_keys::{MasterKey, SigningAlgorithm};
use portico_store::{PgStore, SqliteStore};

pub const PASSWORD: &str = "correct horse battery staple";

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn pg_url() -> String {
    std::env::var("PORTICO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh store on `backend`, or `None` (with a message) when PostgreSQL is not reachable
/// and `PORTICO_REQUIRE_POSTGRES` is not set. CI sets it, so there a missing server fails.
pub async fn fresh_store(backend: Backend) -> Option<(Arc<dyn Store>, StoreGuard)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(&dir.path().join("portico.db"))
                .await
                .unwrap();
            Some((Arc::new(store), StoreGuard::Dir(dir)))
        }
        Backend::Postgres => {
            static COUNTER: AtomicU32 = AtomicU32::new(0);
            let schema = format!(
                "portico_test_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst),
                uuid::Uuid::new_v4().simple()
            );
            let url = pg_url();
            let connect = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                PgStore::connect(&url, Some(&schema)),
            )
            .await;
            match connect {
                Ok(Ok(store)) => Some((Arc::new(store), StoreGuard::Schema(url, schema))),
                other => {
                    let reason = match other {
                        Ok(Err(err)) => err.to_string(),
                        Err(_) => "timed out".to_owned(),
                        Ok(Ok(_)) => unreachable!(),
                    };
                    if std::env::var_os("PORTICO_REQUIRE_POSTGRES").is_some() {
                        panic!("PostgreSQL at {url} is required but unavailable: {reason}");
                    }
                    eprintln!(
                        "SKIPPED: PostgreSQL at {url} unavailable ({reason}); set PORTICO_TEST_POSTGRES_URL"
                    );
                    None
                }
            }
        }
    }
}

/// Cleans up a test store.
pub enum StoreGuard {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Schema(String, String),
}

impl StoreGuard {
    /// The SQLite database file, for tests that look at what rests on disk.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match self {
            Self::Dir(dir) => Some(dir.path().join("portico.db")),
            Self::Schema(..) => None,
        }
    }

    pub async fn cleanup(self) {
        if let Self::Schema(url, schema) = self {
            let _ = PgStore::drop_schema(&url, &schema).await;
        }
    }
}

/// Serves `app` as a relying party on its own origin: `http://localhost:PORT` while Portico is
/// at `http://127.0.0.1:PORT`, so the two are different origins and different sites, as a real
/// app and its identity provider are (CSP `form-action`, CORS and `SameSite` all see it).
pub async fn app_server(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://localhost:{port}")
}

/// The app every test registers: its redirect URI answers with a small page, as an app's
/// callback would.
async fn callback_app() -> String {
    let page = "<!doctype html><html><head><meta charset=\"utf-8\"><title>app</title></head>\
                <body><p id=\"callback\">signed in</p></body></html>";
    app_server(
        axum::Router::new().route(
            "/callback",
            axum::routing::get(move || async move { axum::response::Html(page) })
                .post(move || async move { axum::response::Html(page) }),
        ),
    )
    .await
}

/// A running Portico with one tenant.
pub struct TestServer {
    pub base: String,
    /// The origin of the test's app (`redirect_uri` lives there), never Portico's own.
    pub app_origin: String,
    /// The master key (base64url), to inspect what is stored encrypted.
    pub master_key: String,
    pub tenant: Tenant,
    pub server: RunningServer,
    pub guard: StoreGuard,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_on(Backend::Sqlite).await.unwrap()
    }

    pub async fn start_on(backend: Backend) -> Option<Self> {
        Self::start_with(backend, SigningAlgorithm::Rs256).await
    }

    pub async fn start_with(backend: Backend, alg: SigningAlgorithm) -> Option<Self> {
        Self::start_configured(backend, alg, |_| {}).await
    }

    pub async fn start_configured(
        backend: Backend,
        alg: SigningAlgorithm,
        configure: impl FnOnce(&mut portico_core::Settings),
    ) -> Option<Self> {
        Self::start_serving(
            backend,
            alg,
            configure,
            ServeOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                public_url: None,
                tls: None,
                trusted_proxies: Vec::new(),
                metrics_listen: None,
                delivery: None,
            },
        )
        .await
    }

    pub async fn start_serving(
        backend: Backend,
        alg: SigningAlgorithm,
        configure: impl FnOnce(&mut portico_core::Settings),
        options: ServeOptions,
    ) -> Option<Self> {
        let (store, guard) = fresh_store(backend).await?;
        let (master, master_key) = MasterKey::generate().unwrap();
        let server = server::spawn(store, master, options, configure, std::future::pending())
            .await
            .unwrap();
        let tenant = server.portico.create_tenant("contoso", alg).await.unwrap();
        Some(Self {
            base: server.public_url.clone(),
            app_origin: callback_app().await,
            master_key,
            tenant,
            server,
            guard,
        })
    }

    pub fn portico(&self) -> &Portico {
        &self.server.portico
    }

    /// A second `Portico` over the same store and master key, wired to call extensions as the
    /// server is, on a clock the test moves: what the server would do at another time.
    pub fn portico_at(&self, clock: &portico_core::clock::ManualClock) -> Arc<Portico> {
        let settings = self.portico().settings.clone();
        let callouts =
            portico_delivery::CalloutClient::new(settings.callout_allow_private).unwrap();
        let portico = Arc::new(Portico::new(
            settings,
            Arc::clone(&self.portico().store),
            Arc::new(clock.clone()),
            portico_keys::MasterKey::from_base64(&self.master_key).unwrap(),
        ));
        portico.set_callout_transport(Arc::new(callouts));
        portico
    }

    /// `{base}/{tenant id}/{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}/{}", self.base, self.tenant.id, path)
    }

    pub fn issuer(&self) -> String {
        format!("{}/{}/v2.0", self.base, self.tenant.id)
    }

    /// The app's callback, on another origin than Portico's.
    pub fn redirect_uri(&self) -> String {
        format!("{}/callback", self.app_origin)
    }

    pub async fn app(&self, kind: AppKind) -> (String, Option<String>) {
        self.app_with_claims(kind, &[]).await
    }

    /// An app whose tokens carry these optional claims.
    pub async fn app_with_claims(
        &self,
        kind: AppKind,
        optional_claims: &[&str],
    ) -> (String, Option<String>) {
        let created = self
            .portico()
            .create_application(
                &TenantRef::Id(self.tenant.id),
                NewApplication {
                    name: format!("{kind} app"),
                    kind,
                    redirect_uris: vec![self.redirect_uri()],
                    identifier_uri: None,
                    optional_claims: optional_claims.iter().map(|c| c.to_string()).collect(),
                    native_auth: false,
                    cors_origins: Vec::new(),
                    client_keys: Vec::new(),
                    logout: Default::default(),
                },
            )
            .await
            .unwrap();
        (
            created.application.client_id.to_string(),
            created.client_secret,
        )
    }

    pub async fn user(&self, email: &str) -> User {
        self.portico()
            .create_user(
                &TenantRef::Id(self.tenant.id),
                NewUser {
                    email: email.to_owned(),
                    password: Some(PASSWORD.to_owned()),
                    display_name: Some("Alice Example".to_owned()),
                    legacy_password: false,
                },
            )
            .await
            .unwrap()
    }

    /// Ends every session of `user` the way an operator does (`user revoke-sessions`).
    pub async fn sign_out_everywhere(&self, user: portico_core::ids::UserId) {
        self.portico()
            .revoke_sessions(&TenantRef::Id(self.tenant.id), &user.to_string())
            .await
            .unwrap();
    }

    pub async fn stop(self) {
        self.server.stop().await.unwrap();
        self.guard.cleanup().await;
    }
}

/// A browser-like client: keeps cookies, does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Adapts reqwest 0.13 to the `openidconnect` crate's HTTP client interface.
pub fn oidc_http(
    client: reqwest::Client,
) -> impl Fn(
    openidconnect::HttpRequest,
)
    -> Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, reqwest::Error>> + Send>> {
    move |request| {
        let client = client.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let mut builder = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await?;
            Ok(builder.body(body.to_vec()).unwrap())
        })
    }
}

/// The value of `<input name="{name}" value="...">` in a page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html_unescape(&html[start..end]))
}

/// All hidden inputs of a page, in order.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    const OPEN: &str = "<input type=\"hidden\" name=\"";
    html.match_indices(OPEN)
        .filter_map(|(pos, _)| {
            let rest = &html[pos + OPEN.len()..];
            let name = &rest[..rest.find('"')?];
            let tag = &html[pos..pos + html[pos..].find('>')? + 1];
            Some((name.to_owned(), input_value(tag, name)?))
        })
        .collect()
}

pub fn html_unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Submits the sign-in form on `page` (the HTML of the sign-in page) and returns the response.
pub async fn submit_sign_in(
    server: &TestServer,
    browser: &reqwest::Client,
    page: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let mut form = hidden_inputs(page);
    form.push(("email".into(), email.into()));
    form.push(("password".into(), password.into()));
    browser
        .post(format!("{}/{}/signin", server.base, server.tenant.name))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Query parameters of a redirect's `Location`.
pub fn location_params(response: &reqwest::Response) -> Vec<(String, String)> {
    let location = response
        .headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap();
    let url = url::Url::parse(location).unwrap();
    // Query, then fragment (where the implicit and hybrid flows answer).
    let fragment = url::form_urlencoded::parse(url.fragment().unwrap_or_default().as_bytes());
    url.query_pairs()
        .chain(fragment)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// PKCE pair from the openidconnect crate: (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    (verifier.secret().clone(), challenge.as_str().to_owned())
}

/// GETs a plain code-flow authorization request for `client_id` (a web app, no PKCE) in
/// `browser`: the sign-in page when there is no session.
pub async fn sign_in_page(
    server: &TestServer,
    browser: &reqwest::Client,
    client_id: &str,
) -> reqwest::Response {
    browser
        .get(server.url("oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", &server.redirect_uri()),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap()
}

/// Runs the authorization request in `browser` up to a code: GET authorize, sign in.
/// Returns the redirect's parameters.
pub async fn authorize_and_sign_in(
    server: &TestServer,
    browser: &reqwest::Client,
    query: &[(&str, &str)],
    email: &str,
) -> Vec<(String, String)> {
    let page = browser
        .get(server.url("oauth2/v2.0/authorize"))
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "sign-in page");
    let html = page.text().await.unwrap();
    let response = submit_sign_in(server, browser, &html, email, PASSWORD).await;
    assert_eq!(response.status(), 303, "redirect after sign-in");
    location_params(&response)
}

/// Tokens from a full code + PKCE flow with a public client.
pub struct Tokens {
    pub client_id: String,
    pub body: serde_json::Value,
}

impl Tokens {
    pub fn access(&self) -> &str {
        self.body["access_token"].as_str().unwrap()
    }
    pub fn refresh(&self) -> &str {
        self.body["refresh_token"].as_str().unwrap()
    }
    pub fn id_token(&self) -> &str {
        self.body["id_token"].as_str().unwrap()
    }
}

/// Signs `email` in through the page and redeems the code for an SPA (public client).
pub async fn spa_tokens(server: &TestServer, browser: &reqwest::Client, email: &str) -> Tokens {
    public_client_tokens(
        server,
        browser,
        email,
        portico_core::directory::AppKind::Spa,
    )
    .await
}

/// Signs `email` in through the page and redeems the code for a new public client of `kind`
/// (SPA or native).
pub async fn public_client_tokens(
    server: &TestServer,
    browser: &reqwest::Client,
    email: &str,
    kind: portico_core::directory::AppKind,
) -> Tokens {
    let (client_id, _) = server.app(kind).await;
    let (verifier, challenge) = pkce();
    let redirect_uri = server.redirect_uri();
    let params = authorize_and_sign_in(
        server,
        browser,
        &[
            ("client_id", &client_id),
            ("response_type", "code"),
            ("redirect_uri", &redirect_uri),
            ("scope", "openid profile offline_access"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
        email,
    )
    .await;
    let code = param(&params, "code").unwrap();
    let (status, body) = redeem(server, &client_id, code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    Tokens { client_id, body }
}

/// Posts an authorization_code grant for a public client.
pub async fn redeem(
    server: &TestServer,
    client_id: &str,
    code: &str,
    verifier: &str,
) -> (u16, serde_json::Value) {
    token_request(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", &server.redirect_uri()),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Posts a token request.
pub async fn token_request(server: &TestServer, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(server.url("oauth2/v2.0/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Redeems the refresh token of `tokens` (a public client's).
pub async fn refresh(server: &TestServer, tokens: &Tokens) -> (u16, serde_json::Value) {
    token_request(
        server,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &tokens.client_id),
            ("refresh_token", tokens.refresh()),
        ],
    )
    .await
}

/// Calls userinfo with a bearer token; returns the status.
pub async fn userinfo_status(server: &TestServer, token: &str) -> u16 {
    reqwest::Client::new()
        .get(server.url("oidc/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Polls all futures concurrently on this task and collects their outputs in order.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.unwrap()).collect()
}

/// A token's claims after checking its signature against the tenant's published JWKS with an
/// independent JOSE library (jsonwebtoken).
pub async fn verified_claims(server: &TestServer, token: &str) -> serde_json::Value {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(server.url("discovery/v2.0/keys"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.validate_aud = false;
    validation.set_issuer(&[server.issuer()]);
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .unwrap()
        .claims
}

/// Redeems the code in a sign-in's redirect `location` for a confidential web app and returns
/// the verified id token and access token claims.
pub async fn web_app_tokens(
    server: &TestServer,
    client_id: &str,
    secret: &str,
    location: &str,
) -> (serde_json::Value, serde_json::Value) {
    let params: Vec<(String, String)> = url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let code = param(&params, "code").expect("a code");
    let (status, body) = token_request(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("code", code),
            ("redirect_uri", &server.redirect_uri()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (
        verified_claims(server, body["id_token"].as_str().unwrap()).await,
        verified_claims(server, body["access_token"].as_str().unwrap()).await,
    )
}
