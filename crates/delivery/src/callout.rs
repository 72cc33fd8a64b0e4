//! Calls to custom authentication extensions: one pooled keep-alive client for the whole
//! server, a hard timeout per attempt, no redirects, and an address guard in the resolver
//! itself, so the address checked is the address connected to (no second DNS answer between
//! the check and the connection).

use std::error::Error as StdError;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use portico_core::directory::is_internal_address;
use portico_core::extensions::{
    CalloutFailure, CalloutReply, CalloutRequest, CalloutTransport, MAX_ANSWER_BYTES,
};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::DeliveryError;

/// The extension HTTP client.
#[derive(Debug, Clone)]
pub struct CalloutClient {
    client: reqwest::Client,
    allow_private: bool,
}

/// An address calls may not go to.
#[derive(Debug)]
struct Forbidden(String);

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Forbidden {}

/// Whether a call may go to `ip`: any public address; loopback when the URL named it
/// (`localhost` or a loopback literal, for development and tests); other internal
/// addresses only when the server allows private targets.
fn allowed(ip: IpAddr, loopback_named: bool, allow_private: bool) -> bool {
    !is_internal_address(ip) || allow_private || (loopback_named && ip.is_loopback())
}

/// Turns a host name into addresses (the system's resolver; a fixed table in tests).
type Lookup = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>
        + Send
        + Sync,
>;

fn system_lookup() -> Lookup {
    Arc::new(|host: String| {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
    })
}

/// Resolves names and keeps the answer only if every address is allowed.
struct GuardedResolver {
    allow_private: bool,
    lookup: Lookup,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow_private = self.allow_private;
        let lookup = Arc::clone(&self.lookup);
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = lookup(host.clone()).await?;
            let loopback_named = host.eq_ignore_ascii_case("localhost");
            if addresses.is_empty()
                || !addresses
                    .iter()
                    .all(|a| allowed(a.ip(), loopback_named, allow_private))
            {
                let refusal = Forbidden(format!(
                    "{host} {REFUSAL} (serve --callout-allow-private allows it)"
                ));
                return Err(Box::new(refusal) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// What every refusal of the guard says, so it is recognised however the HTTP stack wraps it
/// (hyper boxes resolver errors, so a downcast alone does not find it).
const REFUSAL: &str = "resolves to an internal address";

/// Whether `err` (or what caused it) is the guard's refusal.
fn forbidden(err: &reqwest::Error) -> Option<String> {
    let mut cause: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(inner) = cause {
        if let Some(refusal) = inner.downcast_ref::<Forbidden>() {
            return Some(refusal.0.clone());
        }
        let text = inner.to_string();
        if text.contains(REFUSAL) {
            return Some(text);
        }
        cause = inner.source();
    }
    None
}

impl CalloutClient {
    /// A client; `allow_private` lets calls reach private-network addresses.
    pub fn new(allow_private: bool) -> Result<Self, DeliveryError> {
        Self::with_lookup(allow_private, system_lookup())
    }

    fn with_lookup(allow_private: bool, lookup: Lookup) -> Result<Self, DeliveryError> {
        let client = reqwest::Client::builder()
            // A proxy would resolve the target itself, past the guard below.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .user_agent(concat!("Portico/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private,
                lookup,
            }))
            .build()
            .map_err(|e| DeliveryError::Transient(format!("HTTP client: {e}")))?;
        Ok(Self {
            client,
            allow_private,
        })
    }

    /// An address literal in the URL never reaches the resolver: it is checked here.
    fn literal_allowed(&self, url: &reqwest::Url) -> Result<(), CalloutFailure> {
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if allowed(literal, literal.is_loopback(), self.allow_private) {
            Ok(())
        } else {
            Err(CalloutFailure::Forbidden(format!(
                "{literal} is an internal address (serve --callout-allow-private allows it)"
            )))
        }
    }
}

fn failure(err: &reqwest::Error) -> CalloutFailure {
    if let Some(refusal) = forbidden(err) {
        return CalloutFailure::Forbidden(refusal);
    }
    if err.is_timeout() {
        return CalloutFailure::Timeout;
    }
    CalloutFailure::Connection(err.without_url_ref())
}

/// `reqwest::Error`'s text and its causes' (what an operator needs: "connection refused",
/// "invalid certificate"), without the URL, which may carry a query the operator set.
trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        let mut cause: Option<&(dyn StdError + 'static)> = self.source();
        while let Some(inner) = cause {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            cause = inner.source();
        }
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "the target URL");
        }
        text
    }
}

#[async_trait]
impl CalloutTransport for CalloutClient {
    async fn post(&self, request: &CalloutRequest) -> Result<CalloutReply, CalloutFailure> {
        let url = reqwest::Url::parse(&request.url)
            .map_err(|_| CalloutFailure::Connection("the target URL is not a URL".into()))?;
        self.literal_allowed(&url)?;
        let attempt = async {
            let mut response = self
                .client
                .post(url)
                .bearer_auth(&request.bearer)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::ACCEPT, "application/json")
                .body(request.body.clone())
                .send()
                .await
                .map_err(|e| failure(&e))?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            // Read one byte past the limit at most: enough to know an answer is too big.
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| failure(&e))? {
                let room = (MAX_ANSWER_BYTES + 1).saturating_sub(body.len());
                body.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or(&chunk));
                if body.len() > MAX_ANSWER_BYTES {
                    break;
                }
            }
            Ok(CalloutReply {
                status,
                content_type,
                body,
            })
        };
        // One deadline for connecting, sending and reading the whole answer.
        tokio::time::timeout(request.timeout, attempt)
            .await
            .unwrap_or(Err(CalloutFailure::Timeout))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_when_named_and_private_only_when_allowed() {
        let loopback: IpAddr = [127, 0, 0, 1].into();
        let private: IpAddr = [10, 1, 2, 3].into();
        let metadata: IpAddr = [169, 254, 169, 254].into();
        let public: IpAddr = [93, 184, 215, 14].into();
        assert!(allowed(public, false, false));
        assert!(allowed(loopback, true, false));
        assert!(
            !allowed(loopback, false, false),
            "a public name resolving to 127.0.0.1"
        );
        assert!(!allowed(private, false, false));
        assert!(!allowed(metadata, false, false));
        assert!(allowed(private, false, true));
    }

    /// A resolver that knows a few names: one public-looking name rebinds to loopback, one
    /// to the private network, as an attacker's DNS would answer.
    fn table() -> Lookup {
        Arc::new(|host: String| {
            Box::pin(async move {
                let ip: IpAddr = match host.as_str() {
                    "localhost" | "rebind.example" => [127, 0, 0, 1].into(),
                    "intranet.example" => [10, 0, 0, 7].into(),
                    _ => return Err(std::io::Error::other("unknown name")),
                };
                Ok(vec![SocketAddr::new(ip, 0)])
            })
        })
    }

    async fn local_receiver() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buffer = [0u8; 4096];
                    let _ = socket.read(&mut buffer).await;
                    let body = "{}";
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        port
    }

    fn request(host: &str, port: u16) -> CalloutRequest {
        CalloutRequest {
            url: format!("http://{host}:{port}/claims"),
            bearer: "token".into(),
            body: b"{}".to_vec(),
            timeout: Duration::from_secs(2),
        }
    }

    #[tokio::test]
    async fn the_address_a_name_resolves_to_decides_not_the_name() {
        let port = local_receiver().await;
        let guarded = CalloutClient::with_lookup(false, table()).unwrap();
        let reply = guarded.post(&request("localhost", port)).await.unwrap();
        assert_eq!(reply.status, 200);
        for host in ["rebind.example", "intranet.example"] {
            match guarded.post(&request(host, port)).await {
                Err(CalloutFailure::Forbidden(why)) => assert!(why.contains(host), "{why}"),
                other => panic!("{host}: {other:?}"),
            }
        }
        match guarded.post(&request("10.0.0.7", port)).await {
            Err(CalloutFailure::Forbidden(_)) => {}
            other => panic!("a private literal: {other:?}"),
        }
        // With private targets allowed, the rebinding name reaches the (loopback) receiver.
        let open = CalloutClient::with_lookup(true, table()).unwrap();
        let reply = open.post(&request("rebind.example", port)).await.unwrap();
        assert_eq!(reply.status, 200);
    }
}
