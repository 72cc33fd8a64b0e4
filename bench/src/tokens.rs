//! The token endpoint's hot paths, the server pinned to one core and the load generator on
//! another: client credentials per signing algorithm against the raw signing rate of one core
//! (the floor: a token costs at least its signature), and, against the RS256 floor or the
//! client-credentials row, the device-code poll, token exchange, refresh-token redemption and
//! userinfo.

use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};

use crate::harness::{LoadResult, SERVER_CORE, Server, drained, load, quick};
use crate::report::{Report, Row, Target};
use crate::{new_app, post_form, success, text_field};

/// The one-core floors: raw signatures per second by algorithm.
pub(crate) struct Floors {
    pub(crate) rs256: f64,
    pub(crate) es256: f64,
    pub(crate) eddsa: f64,
}

impl Floors {
    fn of(&self, alg: &str) -> f64 {
        match alg {
            "RS256" => self.rs256,
            "ES256" => self.es256,
            _ => self.eddsa,
        }
    }
}

/// What each algorithm's client credentials must reach, as a share of its signing floor.
fn target(alg: &str) -> f64 {
    if alg == "RS256" { 0.9 } else { 0.7 }
}

/// The concurrencies a row is measured at.
fn concurrencies() -> &'static [usize] {
    if quick() { &[16] } else { &[1, 16, 64] }
}

/// The name of a one-core row, with the share of the core the server actually used (below 1,
/// the load generator, not the server, was the limit) and how much of it was user space (the
/// rest is the kernel, on loopback mostly TCP working for both ends).
fn one_core(what: &str, concurrency: usize, result: &LoadResult) -> String {
    format!(
        "{what}, 1 core (used {:.2}, user {:.2}), c={concurrency}",
        result.cores, result.user_cores
    )
}

/// A one-core row of `result` in `unit`.
fn one_core_row(what: &str, concurrency: usize, result: &LoadResult, unit: &'static str) -> Row {
    Row::load(one_core(what, concurrency, result), result, unit)
}

/// Client credentials for each tenant `(name, alg, client_id, secret)`: the row the RS256
/// client credentials at concurrency 16 gives is returned (the others' reference).
pub(crate) async fn client_credentials_rows(
    tenants: &[(&str, &str, String, String)],
    floors: &Floors,
    server: &mut Server,
    http: &reqwest::Client,
    base: &str,
    report: &mut Report,
) -> Result<f64> {
    server.pin(SERVER_CORE);
    let mut reference = 0.0;
    for (name, alg, id, secret) in tenants {
        let url = format!("{base}/{name}/oauth2/v2.0/token");
        let form = Arc::new(vec![
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("client_id".to_owned(), id.clone()),
            ("client_secret".to_owned(), secret.clone()),
            ("scope".to_owned(), format!("{id}/.default")),
        ]);
        for &concurrency in concurrencies() {
            let result = form_load(server, http, &url, &form, concurrency).await?;
            let mut row = one_core_row(
                &format!("client credentials {alg}"),
                concurrency,
                &result,
                "tokens/s",
            )
            .floor(floors.of(alg), format!("raw {alg} signs/s, 1 core"));
            if concurrency > 1 {
                row = row.target(Target::RatioAtLeast(target(alg)));
            }
            if *alg == "RS256" && concurrency == 16 {
                reference = result.rate;
            }
            report.add(row);
        }
    }
    Ok(reference)
}

/// Token requests with `form` at `concurrency`.
pub(crate) async fn form_load(
    server: &mut Server,
    http: &reqwest::Client,
    url: &str,
    form: &Arc<Vec<(String, String)>>,
    concurrency: usize,
) -> Result<LoadResult> {
    let request = {
        let http = http.clone();
        let url = url.to_owned();
        let form = Arc::clone(form);
        move || {
            let http = http.clone();
            let url = url.clone();
            let form = Arc::clone(&form);
            async move { drained(http.post(&url).form(form.as_slice()).send().await).await }
        }
    };
    load(server, concurrency, request, success).await
}

/// The device-code poll: devices whose person has not finished yet, each polling as fast as
/// it can (so most answers are `slow_down`; either answer notes the poll in the store).
pub(crate) async fn device_poll_rows(
    cli: &impl Fn(&[&str]) -> Result<serde_json::Value>,
    server: &mut Server,
    http: &reqwest::Client,
    base: &str,
    raw_rs: f64,
    report: &mut Report,
) -> Result<()> {
    let (client_id, _) = new_app(cli, "tv", "native", &[])?;
    cli(&[
        "app",
        "update",
        "--tenant",
        "bench-rs",
        "--app",
        &client_id,
        "--device-code",
        "on",
    ])?;
    server.pin(SERVER_CORE);
    let concurrency = 16;
    let mut codes = Vec::new();
    for _ in 0..concurrency {
        let issued = post_form(
            http,
            &format!("{base}/bench-rs/oauth2/v2.0/devicecode"),
            &[("client_id", client_id.as_str()), ("scope", "openid")],
        )
        .await?;
        codes.push(text_field(&issued, "device_code")?);
    }
    let codes = Arc::new(codes);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let url = format!("{base}/bench-rs/oauth2/v2.0/token");
    let request = {
        let http = http.clone();
        move || {
            let http = http.clone();
            let url = url.clone();
            let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let code = codes.get(index % codes.len()).cloned().unwrap_or_default();
            let client_id = client_id.clone();
            async move {
                drained(
                    http.post(&url)
                        .form(&[
                            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                            ("client_id", client_id.as_str()),
                            ("device_code", code.as_str()),
                        ])
                        .send()
                        .await,
                )
                .await
            }
        }
    };
    // Pending devices are answered 400 (authorization_pending or slow_down).
    let result = load(server, concurrency, request, |status| status == 400).await?;
    report.add(
        one_core_row("device-code poll", concurrency, &result, "polls/s")
            .floor(raw_rs, "raw RS256 signs/s, 1 core"),
    );
    Ok(())
}

/// What the user-token rows share: a native app whose sign-ins give tokens for the front
/// API, and a gateway allowed to exchange them for the Orders API.
pub(crate) struct UserApps {
    mobile: String,
    gateway: String,
    gateway_secret: String,
}

/// The account, the apps and the exchange policy for the user-token rows.
pub(crate) fn prepare_user_apps(
    cli: &impl Fn(&[&str]) -> Result<serde_json::Value>,
) -> Result<UserApps> {
    cli(&[
        "user",
        "create",
        "--tenant",
        "bench-rs",
        "--email",
        EMAIL,
        "--password",
        PASSWORD,
    ])?;
    let (front, _) = new_app(cli, "front", "web", &[])?;
    cli(&[
        "app",
        "expose",
        "--tenant",
        "bench-rs",
        "--app",
        &front,
        "--identifier-uri",
        "api://front",
        "--scope",
        "Access",
    ])?;
    let (gateway, gateway_secret) = new_app(cli, "gateway", "web", &[])?;
    let gateway_secret = gateway_secret.context("gateway secret")?;
    let (orders, _) = new_app(cli, "orders", "web", &[])?;
    let rule = format!("{gateway}:{front}:impersonation");
    cli(&[
        "app",
        "expose",
        "--tenant",
        "bench-rs",
        "--app",
        &orders,
        "--identifier-uri",
        "api://orders",
        "--scope",
        "Orders.Read",
        "--token-exchange",
        &rule,
    ])?;
    cli(&[
        "app",
        "grant",
        "--tenant",
        "bench-rs",
        "--app",
        &gateway,
        "--api",
        &orders,
        "--scope",
        "Orders.Read",
    ])?;
    let (mobile, _) = new_app(cli, "mobile", "native", &["--native-auth"])?;
    cli(&[
        "app", "grant", "--tenant", "bench-rs", "--app", &mobile, "--api", &front, "--scope",
        "Access",
    ])?;
    Ok(UserApps {
        mobile,
        gateway,
        gateway_secret,
    })
}

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "bench-Password-1";

/// A sign-in on the mobile app over the native API, for `scope`: its tokens.
async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    apps: &UserApps,
    scope: &str,
) -> Result<serde_json::Value> {
    let initiated = post_form(
        http,
        &format!("{base}/bench-rs/oauth2/v2.0/initiate"),
        &[
            ("client_id", apps.mobile.as_str()),
            ("username", EMAIL),
            ("challenge_type", "password redirect"),
        ],
    )
    .await?;
    let continuation = text_field(&initiated, "continuation_token")?;
    post_form(
        http,
        &format!("{base}/bench-rs/oauth2/v2.0/token"),
        &[
            ("client_id", apps.mobile.as_str()),
            ("grant_type", "password"),
            ("continuation_token", continuation.as_str()),
            ("password", PASSWORD),
            ("scope", scope),
        ],
    )
    .await
}

/// Token exchange (RFC 8693: a gateway trading a user's token for the front API into one
/// for the Orders API; each verifies the subject token, reads the policy, the grant and the
/// user, and signs), refresh-token redemption (each rotates the token: one conditional
/// update, two signatures) and userinfo (a bearer token verified, the user read).
pub(crate) async fn user_token_rows(
    apps: &UserApps,
    server: &mut Server,
    http: &reqwest::Client,
    base: &str,
    raw_rs: f64,
    client_credentials: f64,
    report: &mut Report,
) -> Result<()> {
    server.pin(SERVER_CORE);
    let concurrency = 16;
    let token_url = format!("{base}/bench-rs/oauth2/v2.0/token");
    let signed_in = sign_in(http, base, apps, "api://front/Access").await?;
    let form = Arc::new(vec![
        (
            "grant_type".to_owned(),
            "urn:ietf:params:oauth:grant-type:token-exchange".to_owned(),
        ),
        ("client_id".to_owned(), apps.gateway.clone()),
        ("client_secret".to_owned(), apps.gateway_secret.clone()),
        (
            "subject_token".to_owned(),
            text_field(&signed_in, "access_token")?,
        ),
        (
            "subject_token_type".to_owned(),
            "urn:ietf:params:oauth:token-type:access_token".to_owned(),
        ),
        ("scope".to_owned(), "api://orders/Orders.Read".to_owned()),
    ]);
    let result = form_load(server, http, &token_url, &form, concurrency).await?;
    report.add(
        one_core_row("token exchange RS256", concurrency, &result, "tokens/s")
            .floor(raw_rs, "raw RS256 signs/s, 1 core"),
    );

    // Refresh: every worker's token is replaced by the one its redemption returns, so the
    // pool holds one live token per worker (warm-up included).
    let mut pool = Vec::new();
    for _ in 0..concurrency.max(8) {
        let tokens = sign_in(http, base, apps, "openid offline_access").await?;
        pool.push(text_field(&tokens, "refresh_token")?);
    }
    let pool = Arc::new(Mutex::new(pool));
    let request = {
        let (http, url, mobile) = (http.clone(), token_url.clone(), apps.mobile.clone());
        move || {
            let (http, url, mobile, pool) =
                (http.clone(), url.clone(), mobile.clone(), Arc::clone(&pool));
            async move {
                let refresh = pool
                    .lock()
                    .ok()
                    .and_then(|mut p| p.pop())
                    .unwrap_or_default();
                let response = http
                    .post(&url)
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("client_id", mobile.as_str()),
                        ("refresh_token", refresh.as_str()),
                        ("scope", "openid offline_access"),
                    ])
                    .send()
                    .await?;
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await?;
                if let (Some(next), Ok(mut pool)) = (
                    body.get("refresh_token")
                        .and_then(serde_json::Value::as_str),
                    pool.lock(),
                ) {
                    pool.push(next.to_owned());
                }
                Ok(status)
            }
        }
    };
    let result = load(server, concurrency, request, success).await?;
    report.add(
        one_core_row(
            "refresh-token redemption RS256",
            concurrency,
            &result,
            "redemptions/s",
        )
        .floor(client_credentials, "client credentials RS256 tokens/s"),
    );

    let tokens = sign_in(http, base, apps, "openid").await?;
    let access = text_field(&tokens, "access_token")?;
    let request = {
        let (http, url) = (http.clone(), format!("{base}/bench-rs/oidc/userinfo"));
        move || {
            let (http, url, access) = (http.clone(), url.clone(), access.clone());
            async move { drained(http.get(&url).bearer_auth(&access).send().await).await }
        }
    };
    let result = load(server, concurrency, request, success).await?;
    report.add(
        one_core_row("userinfo RS256", concurrency, &result, "requests/s")
            .floor(client_credentials, "client credentials RS256 tokens/s"),
    );
    Ok(())
}
