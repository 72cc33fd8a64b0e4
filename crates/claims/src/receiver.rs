//! The framework-neutral receiver: token, payload, allowlist, handler, answer.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::events::{
    BadRequest, ClaimsDecision, Event, EventCommon, OtpAction, OtpContext, PasswordAction,
    SignUpInfo, StartAction, SubmitAction, claims_response, otp_response, parse_event,
    password_response, start_response, submit_response,
};
use crate::password::{DecryptionKey, PasswordContext};
use crate::token::{CalloutToken, TokenValidator};

/// A handler failed (500); the message is logged, never sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HandlerError(pub String);

impl HandlerError {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// What the application does at each event. Implement the events it is attached to; the
/// others answer 500 (the server then applies its failure behaviour).
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Claims for a token.
    async fn token_issuance_start(
        &self,
        _event: &EventCommon,
    ) -> Result<ClaimsDecision, HandlerError> {
        Err(HandlerError::new("token issuance is not handled here"))
    }

    /// Before the sign-up page.
    async fn attribute_collection_start(
        &self,
        _event: &EventCommon,
        _sign_up: &SignUpInfo,
    ) -> Result<StartAction, HandlerError> {
        Ok(StartAction::Continue)
    }

    /// After the sign-up page.
    async fn attribute_collection_submit(
        &self,
        _event: &EventCommon,
        _sign_up: &SignUpInfo,
    ) -> Result<SubmitAction, HandlerError> {
        Ok(SubmitAction::Continue)
    }

    /// Deliver a one-time code.
    async fn otp_send(
        &self,
        _event: &EventCommon,
        _otp: &OtpContext,
    ) -> Result<OtpAction, HandlerError> {
        Err(HandlerError::new("one-time codes are not delivered here"))
    }

    /// Check a legacy password (decrypted with the receiver's key; the receiver echoes the
    /// nonce).
    async fn password_submit(
        &self,
        _event: &EventCommon,
        _context: &PasswordContext,
    ) -> Result<PasswordAction, HandlerError> {
        Err(HandlerError::new("passwords are not checked here"))
    }
}

/// An HTTP answer: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// 200, 400, 401, 403 or 500.
    pub status: u16,
    /// The body (an event answer, or `{"error": …}`).
    pub body: Value,
}

impl Reply {
    fn error(status: u16, message: &str) -> Self {
        Self {
            status,
            body: json!({"error": message}),
        }
    }

    fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }
}

/// The receiving endpoint: validates, parses, calls the handler and answers.
#[derive(Clone)]
pub struct Receiver {
    validator: TokenValidator,
    allowed_apps: Option<Arc<HashSet<String>>>,
    decryption_key: Option<Arc<DecryptionKey>>,
    handler: Arc<dyn Handler>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("validator", &self.validator)
            .field("allowed_apps", &self.allowed_apps)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver accepting what `validator` accepts, answering with `handler`.
    pub fn new(validator: TokenValidator, handler: impl Handler) -> Self {
        Self {
            validator,
            allowed_apps: None,
            decryption_key: None,
            handler: Arc::new(handler),
        }
    }

    /// Answer only sign-ins to these client apps (`clientServicePrincipal.appId`); 403 to
    /// others.
    pub fn allow_client_apps<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        apps: I,
    ) -> Self {
        self.allowed_apps = Some(Arc::new(apps.into_iter().map(Into::into).collect()));
        self
    }

    /// Decrypt password contexts (OnPasswordSubmit) with this key, the private half of the
    /// one registered on the extension.
    pub fn with_decryption_key(mut self, key: DecryptionKey) -> Self {
        self.decryption_key = Some(Arc::new(key));
        self
    }

    /// Handles one request: its `Authorization` header and body.
    pub async fn handle(&self, authorization: Option<&str>, body: &[u8]) -> Reply {
        let token: CalloutToken = match self.validator.validate(authorization).await {
            Ok(token) => token,
            Err(err) => {
                tracing::info!(error = %err, "callout token refused");
                return Reply::error(401, "invalid token");
            }
        };
        let event = match parse_event(body) {
            Ok(event) => event,
            Err(BadRequest(why)) => return Reply::error(400, &why),
        };
        let common = event.common();
        if let Some(allowed) = &self.allowed_apps {
            let app = common
                .authentication_context
                .client_service_principal
                .as_ref()
                .and_then(|sp| sp.app_id.as_deref());
            if !app.is_some_and(|app| allowed.contains(app)) {
                return Reply::error(403, "this app is not served");
            }
        }
        tracing::debug!(issuer = %token.iss, correlation_id = %common.authentication_context.correlation_id, "callout accepted");
        match self.dispatch(&event).await {
            Ok(reply) => reply,
            Err(err) => {
                tracing::warn!(error = %err, "extension handler failed");
                Reply::error(500, "the handler failed")
            }
        }
    }

    async fn dispatch(&self, event: &Event) -> Result<Reply, HandlerError> {
        Ok(match event {
            Event::TokenIssuanceStart(common) => {
                match self.handler.token_issuance_start(common).await? {
                    ClaimsDecision::Allow(claims) if claims.is_empty() => {
                        return Err(HandlerError::new("allowed with no claims"));
                    }
                    ClaimsDecision::Allow(claims) => Reply::ok(claims_response(&claims)),
                    ClaimsDecision::Deny => Reply::error(403, "denied"),
                }
            }
            Event::AttributeCollectionStart(common, info) => Reply::ok(start_response(
                &self
                    .handler
                    .attribute_collection_start(common, info)
                    .await?,
            )),
            Event::AttributeCollectionSubmit(common, info) => Reply::ok(submit_response(
                &self
                    .handler
                    .attribute_collection_submit(common, info)
                    .await?,
            )),
            Event::OtpSend(common, otp) => {
                Reply::ok(otp_response(self.handler.otp_send(common, otp).await?))
            }
            Event::PasswordSubmit(common, context) => {
                let Some(key) = &self.decryption_key else {
                    return Err(HandlerError::new("no decryption key for password contexts"));
                };
                let Some(context) = context else {
                    return Ok(Reply::error(400, "no encryptedPasswordContext"));
                };
                let context = match key.decrypt(context) {
                    Ok(context) => context,
                    Err(err) => return Ok(Reply::error(400, &err.to_string())),
                };
                let action = self.handler.password_submit(common, &context).await?;
                Reply::ok(password_response(&action, &context.nonce))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::token::TrustedIssuer;

    /// Denies ada, allows nobody else any claim, fails for everything else.
    struct Picky;

    #[async_trait]
    impl Handler for Picky {
        async fn token_issuance_start(
            &self,
            event: &EventCommon,
        ) -> Result<ClaimsDecision, HandlerError> {
            match event.authentication_context.correlation_id.as_str() {
                "deny" => Ok(ClaimsDecision::Deny),
                "empty" => Ok(ClaimsDecision::Allow(BTreeMap::new())),
                _ => Err(HandlerError::new("the loyalty database is down")),
            }
        }
    }

    fn issuance(correlation_id: &str) -> Event {
        let mut common = EventCommon::default();
        common.authentication_context.correlation_id = correlation_id.to_owned();
        Event::TokenIssuanceStart(common)
    }

    #[tokio::test]
    async fn handler_decisions_become_statuses() {
        let receiver = Receiver::new(
            TokenValidator::new(vec![TrustedIssuer::new("https://issuer.example", "aud")]),
            Picky,
        );
        assert_eq!(
            receiver.dispatch(&issuance("deny")).await.unwrap().status,
            403
        );
        assert!(
            receiver.dispatch(&issuance("empty")).await.is_err(),
            "no claims is a failure"
        );
        assert!(receiver.dispatch(&issuance("other")).await.is_err());
        // Events a handler does not implement: the defaults.
        let otp = Event::OtpSend(EventCommon::default(), OtpContext::default());
        assert!(
            receiver.dispatch(&otp).await.is_err(),
            "an OTP must not pass as sent"
        );
        let start = Event::AttributeCollectionStart(EventCommon::default(), SignUpInfo::default());
        assert_eq!(receiver.dispatch(&start).await.unwrap().status, 200);
        // Without a token, nothing runs.
        assert_eq!(receiver.handle(None, b"{}").await.status, 401);
    }
}
