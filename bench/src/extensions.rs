//! Token issuance with an OnTokenIssuanceStart extension: client credentials for an API
//! whose extension a local receiver (built with portico-claims, validating every callout
//! token through discovery) answers with a claim, beside the same grant for an API without
//! one. The receiver runs in the benchmark's process, so it shares the load generator's cores.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use portico_claims::{
    ClaimsDecision, EventCommon, Handler, HandlerError, Receiver, TokenValidator, TrustedIssuer,
};

use crate::harness::{Server, drained, load};
use crate::report::{Report, Row};

/// An extension registered before the server starts (its cache then knows it at once).
pub(crate) struct Prepared {
    listener: std::net::TcpListener,
    api: String,
    plain_api: String,
    daemon: String,
    secret: String,
    audience: String,
}

struct Tier;

#[async_trait::async_trait]
impl Handler for Tier {
    async fn token_issuance_start(
        &self,
        event: &EventCommon,
    ) -> Result<ClaimsDecision, HandlerError> {
        let mut claims = BTreeMap::new();
        claims.insert("tier".to_owned(), "gold".into());
        claims.insert(
            "correlationId".to_owned(),
            event.authentication_context.correlation_id.clone().into(),
        );
        Ok(ClaimsDecision::Allow(claims))
    }
}

/// Registers the APIs, the daemon calling them, and the extension of one of them.
pub(crate) fn prepare(
    cli: &impl Fn(&[&str]) -> Result<serde_json::Value>,
    new_app: impl Fn(&str, &str) -> Result<(String, Option<String>)>,
) -> Result<Prepared> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let target = format!("http://{}/claims", listener.local_addr()?);
    let (api, _) = new_app("claims-api", "web")?;
    let (plain_api, _) = new_app("plain-api", "web")?;
    let (daemon, secret) = new_app("claims-daemon", "daemon")?;
    let created = cli(&[
        "extension",
        "create",
        "--tenant",
        "bench-rs",
        "--name",
        "bench-claims",
        "--event",
        "token-issuance-start",
        "--target-url",
        &target,
        "--app",
        &api,
        "--claim",
        "tier",
        "--claim",
        "correlationId",
    ])?;
    let audience = created
        .get("resource_app_id")
        .and_then(|v| v.as_str())
        .context("resource_app_id")?
        .to_owned();
    Ok(Prepared {
        listener,
        api,
        plain_api,
        daemon,
        secret: secret.context("daemon secret")?,
        audience,
    })
}

/// The two rows: with the callout and without (the callout's row against the one without).
pub(crate) async fn extension_rows(
    prepared: Prepared,
    server: &mut Server,
    http: &reqwest::Client,
    base: &str,
    report: &mut Report,
) -> Result<()> {
    let discovery: serde_json::Value = http
        .get(format!(
            "{base}/bench-rs/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await?
        .json()
        .await?;
    let issuer = discovery
        .get("issuer")
        .and_then(|v| v.as_str())
        .context("issuer")?
        .to_owned();
    let validator = TokenValidator::new(vec![TrustedIssuer::new(issuer, prepared.audience)]);
    let router = Receiver::new(validator, Tier).router("/claims");
    let listener = tokio::net::TcpListener::from_std(prepared.listener)?;
    tokio::spawn(async move { axum::serve(listener, router).await });

    let url = format!("{base}/bench-rs/oauth2/v2.0/token");
    let concurrency = 16;
    {
        let mut without = None;
        for (label, api) in [
            ("no extension", &prepared.plain_api),
            ("one OnTokenIssuanceStart callout", &prepared.api),
        ] {
            let form = Arc::new(vec![
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("client_id".to_owned(), prepared.daemon.clone()),
                ("client_secret".to_owned(), prepared.secret.clone()),
                ("scope".to_owned(), format!("{api}/.default")),
            ]);
            let request = {
                let http = http.clone();
                let url = url.clone();
                move || {
                    let http = http.clone();
                    let url = url.clone();
                    let form = Arc::clone(&form);
                    async move { drained(http.post(&url).form(form.as_slice()).send().await).await }
                }
            };
            let result = load(server, concurrency, request, |s| s == 200).await?;
            let row = Row::load(
                format!("client credentials RS256, {label}, c={concurrency}"),
                &result,
                "tokens/s",
            );
            let row = match without {
                None => {
                    without = Some(result.rate);
                    row
                }
                Some(rate) => row.floor(rate, "the row without"),
            };
            report.add(row);
        }
    }
    Ok(())
}
