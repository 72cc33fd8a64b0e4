//! Memory under load: 1,000 clients each holding a keep-alive connection and asking for
//! client-credentials tokens as fast as the server answers, on every core. The row is the
//! server's peak resident memory (the kernel's high-water mark) over the window, against the
//! issue's 100 MB.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};

use anyhow::{Context as _, Result};

use crate::harness::{Server, all_cores, drained, load, open_sockets};
use crate::report::{Report, Row, Target};
use crate::success;

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
    // A client per connection, each lent to one request at a time: a shared pool would
    // reuse a connection just freed rather than open another, and clients taken in turn
    // would open a second connection whenever two requests met on one.
    let clients: Arc<Mutex<Vec<reqwest::Client>>> = Arc::new(Mutex::new(
        (0..CONNECTIONS)
            .map(|_| reqwest::Client::builder().build())
            .collect::<Result<_, _>>()?,
    ));
    let url = format!("{base}/{tenant}/oauth2/v2.0/token");
    let form = Arc::new(vec![
        ("grant_type".to_owned(), "client_credentials".to_owned()),
        ("client_id".to_owned(), client.0.to_owned()),
        ("client_secret".to_owned(), client.1.to_owned()),
        ("scope".to_owned(), format!("{}/.default", client.0)),
    ]);
    let request = move || {
        let (clients, url, form) = (Arc::clone(&clients), url.clone(), Arc::clone(&form));
        async move {
            let lent = clients
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .context("more requests at once than clients")?;
            let status = drained(lent.post(&url).form(form.as_slice()).send().await).await;
            clients
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(lent);
            status
        }
    };
    // The most sockets open at once while the load runs.
    let pid = server.pid();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let most = tokio::spawn({
        let done = Arc::clone(&done);
        async move {
            let mut most = 0;
            while !done.load(Ordering::Relaxed) {
                most = most.max(open_sockets(pid).unwrap_or_default());
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            most
        }
    });
    let result = load(server, CONNECTIONS, request, success).await;
    done.store(true, Ordering::Relaxed);
    let open = most.await?;
    let result = result?;
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
