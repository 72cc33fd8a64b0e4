//! Memory under load: 1,000 clients each holding a keep-alive connection and asking for
//! client-credentials tokens as fast as the server answers, on every core. The row is the
//! server's peak resident memory (the kernel's high-water mark) over the window, against the
//! issue's 100 MB.

use std::sync::Arc;

use anyhow::Result;

use crate::harness::{Server, all_cores};
use crate::report::{Report, Row, Target};

/// Connections held open at once.
const CONNECTIONS: usize = 1_000;

/// The loaded-footprint row, with `tenant`'s daemon `(client_id, secret)` asking for tokens.
pub(crate) async fn loaded_rss_row(
    server: &mut Server,
    base: &str,
    tenant: &str,
    client: (&str, &str),
    report: &mut Report,
) -> Result<()> {
    server.pin(&all_cores());
    // A client of its own, so that every one of the connections stays open between requests.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    let url = format!("{base}/{tenant}/oauth2/v2.0/token");
    let form = Arc::new(vec![
        ("grant_type".to_owned(), "client_credentials".to_owned()),
        ("client_id".to_owned(), client.0.to_owned()),
        ("client_secret".to_owned(), client.1.to_owned()),
        ("scope".to_owned(), format!("{}/.default", client.0)),
    ]);
    let result = crate::tokens::form_load(server, &http, &url, &form, CONNECTIONS).await?;
    let open = server.open_sockets()?;
    report.add(
        Row::new(
            format!(
                "peak RSS, {CONNECTIONS} keep-alive clients under load ({open} sockets open, {:.0} tokens/s)",
                result.rate
            ),
            server.peak_rss_kb()? as f64 / 1024.0,
            "MB",
        )
        .target(Target::AtMost(100.0)),
    );
    Ok(())
}
