//! Calling an extension: the bearer token Portico mints for the call (as Entra's), the HTTP
//! attempt through a [`CalloutTransport`], at most one retry, the answer read as Entra reads
//! it, and every call recorded (metrics, the call log, a trace event).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use portico_keys::encode_jws;
use serde::Serialize;

use super::{Answer, AnswerError, Extension, ExtensionCall, parse_answer};
use crate::directory::Tenant;
use crate::ids::ClientId;
use crate::{CoreError, Portico};

/// Entra's first-party app that calls extensions (`azp` of its tokens): receivers written
/// for Entra check it.
pub const ENTRA_AUTHENTICATION_EVENTS_APP: &str = "99045fe1-7639-4a75-9d4a-577b6ca3810f";
/// How long a callout token lives; it is reused for half of that.
const CALLOUT_TOKEN_SECS: i64 = 600;

/// One POST to an extension, as the transport makes it.
#[derive(Debug, Clone)]
pub struct CalloutRequest {
    /// The target URL.
    pub url: String,
    /// The bearer token.
    pub bearer: String,
    /// The JSON body.
    pub body: Vec<u8>,
    /// The whole attempt's limit.
    pub timeout: Duration,
}

/// What the extension answered (the body read up to one byte past
/// [`super::MAX_ANSWER_BYTES`], so an oversize answer is seen as one).
#[derive(Debug, Clone)]
pub struct CalloutReply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// Why an attempt got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalloutFailure {
    /// Past the extension's timeout.
    #[error("timed out")]
    Timeout,
    /// No connection (refused, reset, TLS, DNS).
    #[error("connection failed: {0}")]
    Connection(String),
    /// The target resolved to an address calls may not go to (SSRF guard).
    #[error("{0}")]
    Forbidden(String),
}

/// Makes the HTTP attempts (one pooled client in the server; a fake in unit tests).
#[async_trait]
pub trait CalloutTransport: Send + Sync + std::fmt::Debug {
    /// POSTs `request` once.
    async fn post(&self, request: &CalloutRequest) -> Result<CalloutReply, CalloutFailure>;
}

/// The claims of a callout token: an app-only v2.0 access token of Entra's shape.
#[derive(Debug, Serialize)]
struct CalloutTokenClaims<'a> {
    aud: &'a str,
    iss: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    azp: &'a str,
    azpacr: &'static str,
    idtyp: &'static str,
    oid: &'a str,
    sub: &'a str,
    tid: String,
    ver: &'static str,
    uti: String,
    jti: String,
}

/// A failed call: Entra's error number and name, and the outcome label of metrics and log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalloutError {
    /// `timeout`, `connection`, `forbidden`, `refused` (an answer Entra would refuse).
    pub outcome: &'static str,
    /// Entra's number and name, and the particulars.
    pub error: AnswerError,
}

impl From<CalloutError> for CoreError {
    fn from(err: CalloutError) -> Self {
        CoreError::Extension {
            code: err.error.code,
            name: err.error.name,
        }
    }
}

fn failure_error(failure: &CalloutFailure) -> CalloutError {
    match failure {
        CalloutFailure::Timeout => CalloutError {
            outcome: "timeout",
            error: AnswerError {
                code: 1_003_005,
                name: "TimedOut",
                detail: "the extension did not answer in time".into(),
            },
        },
        CalloutFailure::Connection(why) => CalloutError {
            outcome: "connection",
            error: AnswerError {
                code: 1_003_027,
                name: "ConnectionError",
                detail: why.clone(),
            },
        },
        CalloutFailure::Forbidden(why) => CalloutError {
            outcome: "forbidden",
            error: AnswerError {
                code: 1_003_027,
                name: "ConnectionError",
                detail: why.clone(),
            },
        },
    }
}

/// Whether an attempt's result is worth one more try: no connection, no answer in time, or
/// a server error (a 4xx or a wrong body would be the same again).
fn retryable(result: &Result<CalloutReply, CalloutFailure>) -> bool {
    match result {
        Ok(reply) => reply.status >= 500,
        Err(CalloutFailure::Forbidden(_)) => false,
        Err(_) => true,
    }
}

/// The transport used when none was set (management commands that never call out).
#[derive(Debug)]
struct NoTransport;

#[async_trait]
impl CalloutTransport for NoTransport {
    async fn post(&self, _: &CalloutRequest) -> Result<CalloutReply, CalloutFailure> {
        Err(CalloutFailure::Connection(
            "this process makes no extension calls".into(),
        ))
    }
}

/// Who a call is about, for the log.
#[derive(Debug, Clone, Copy)]
pub struct CallFor<'a> {
    /// The sign-in's correlation id (also in the payload).
    pub correlation_id: &'a str,
    /// The app.
    pub client: Option<ClientId>,
    /// The nonce a password-submit answer must echo.
    pub nonce: Option<&'a str>,
}

impl Portico {
    /// Sets how extension calls are made (the server's pooled HTTP client), and gives the
    /// services their own shared handle, for calls made beside a request.
    pub fn set_callout_transport(self: &Arc<Self>, transport: Arc<dyn CalloutTransport>) {
        // Set once at start-up; a second setting is a wiring mistake and is ignored.
        let _ = self.callouts.set(transport);
        let _ = self.shared.set(Arc::downgrade(self));
    }

    fn callout_transport(&self) -> Arc<dyn CalloutTransport> {
        self.callouts
            .get()
            .cloned()
            .unwrap_or_else(|| Arc::new(NoTransport))
    }

    /// The bearer token of calls to `extension`: signed with the tenant's key (so a
    /// receiver validates it through Portico's discovery), `aud` the extension's resource
    /// app, `azp` Entra's authentication-events app unless the tenant names another.
    async fn callout_token(
        &self,
        tenant: &Tenant,
        extension: &Extension,
    ) -> Result<String, CoreError> {
        let settings = self.tenant_settings(tenant.id).await?;
        let azp = settings
            .callout_azp
            .as_deref()
            .unwrap_or(ENTRA_AUTHENTICATION_EVENTS_APP);
        // A changed `callout_azp` takes effect at once: the caller is part of the key.
        let key = (tenant.id, format!("{} {azp}", extension.resource_app_id));
        if let Some(token) = self.callout_tokens.get(&key) {
            return Ok(token);
        }
        let now = self.now();
        let keys = self
            .keys
            .tenant_keys(self.store.as_ref(), tenant.id, now)
            .await?;
        let uti = crate::secret::random_token()?;
        let claims = CalloutTokenClaims {
            aud: &extension.resource_app_id,
            iss: self.issuer(tenant),
            iat: now,
            nbf: now,
            exp: now + CALLOUT_TOKEN_SECS,
            azp,
            azpacr: "1",
            idtyp: "app",
            oid: azp,
            sub: azp,
            tid: tenant.id.to_string(),
            ver: "2.0",
            jti: uti.clone(),
            uti,
        };
        let token = encode_jws(&keys.signing, "JWT", &claims)?;
        self.callout_tokens.put(key, token.clone());
        Ok(token)
    }

    /// Calls `extension` with `payload`: at most `1 + retries` attempts, the answer read
    /// as Entra reads it. Every call is counted, timed and logged, whatever its outcome; the
    /// log is written beside the request, never in its way.
    pub(crate) async fn call_extension(
        &self,
        tenant: &Tenant,
        extension: &Extension,
        payload: &serde_json::Value,
        call: CallFor<'_>,
    ) -> Result<Answer, CalloutError> {
        let (answer, record) = self.make_call(tenant, extension, payload, call).await;
        let store = Arc::clone(&self.store);
        tokio::spawn(async move {
            if let Err(err) = store.record_extension_call(&record).await {
                tracing::warn!(error = %err, "recording an extension call failed");
            }
        });
        answer
    }

    /// Makes a call and returns the record the log keeps of it (not yet written).
    pub(crate) async fn make_call(
        &self,
        tenant: &Tenant,
        extension: &Extension,
        payload: &serde_json::Value,
        call: CallFor<'_>,
    ) -> (Result<Answer, CalloutError>, ExtensionCall) {
        let started = Instant::now();
        let at = self.now();
        let (result, attempts) = self.attempt_calls(tenant, extension, payload).await;
        let answer = result.and_then(|reply| {
            parse_answer(
                extension.event,
                reply.status,
                reply.content_type.as_deref(),
                &reply.body,
                call.nonce,
            )
            .map_err(|error| CalloutError {
                outcome: "refused",
                error,
            })
        });
        let elapsed = started.elapsed();
        let outcome = match &answer {
            Ok(_) => "ok",
            Err(err) => err.outcome,
        };
        let event = extension.event.as_str();
        metrics::counter!("portico_extension_calls_total", "event" => event, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("portico_extension_call_seconds", "event" => event)
            .record(elapsed.as_secs_f64());
        match &answer {
            Ok(_) => {
                tracing::debug!(tenant.id = %tenant.id, extension.id = %extension.id, event, attempts, ms = elapsed.as_millis() as u64, "extension called")
            }
            Err(err) => {
                tracing::warn!(tenant.id = %tenant.id, extension.id = %extension.id, event, attempts, code = err.error.code, error = %err.error, "extension call failed")
            }
        }
        let record = ExtensionCall {
            tenant_id: tenant.id,
            extension_id: extension.id.clone(),
            event: extension.event,
            correlation_id: call.correlation_id.to_owned(),
            client_id: call.client,
            at,
            outcome: outcome.to_owned(),
            error_code: answer.as_ref().err().map(|e| e.error.code),
            detail: answer
                .as_ref()
                .err()
                .map(|e| truncate(&e.error.detail, 500)),
            latency_ms: u32::try_from(elapsed.as_millis()).unwrap_or(u32::MAX),
            attempts,
        };
        (answer, record)
    }

    async fn attempt_calls(
        &self,
        tenant: &Tenant,
        extension: &Extension,
        payload: &serde_json::Value,
    ) -> (Result<CalloutReply, CalloutError>, u8) {
        let bearer = match self.callout_token(tenant, extension).await {
            Ok(token) => token,
            Err(err) => {
                tracing::error!(error = %err, "minting a callout token failed");
                return (
                    Err(CalloutError {
                        outcome: "error",
                        error: AnswerError {
                            code: 1_003_000,
                            name: "EventHandlerUnexpectedError",
                            detail: "the call's token could not be made".into(),
                        },
                    }),
                    0,
                );
            }
        };
        let request = CalloutRequest {
            url: extension.target_url.clone(),
            bearer,
            body: serde_json::to_vec(payload).unwrap_or_default(),
            timeout: Duration::from_millis(u64::from(extension.timeout_ms)),
        };
        let transport = self.callout_transport();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = transport.post(&request).await;
            if attempts <= extension.retries && retryable(&result) {
                continue;
            }
            return (result.map_err(|f| failure_error(&f)), attempts);
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => text.get(..end).unwrap_or(text).to_owned(),
        None => text.to_owned(),
    }
}
