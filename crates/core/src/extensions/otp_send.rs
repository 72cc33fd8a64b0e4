//! OnOtpSend (Entra's `emailOtpSend`): the company's service delivers emailed codes. The code
//! is issued as always (one live code per address and purpose, the same limits), but no mail
//! is queued; the extension gets the code. If the call fails, Portico's own mailer sends it
//! when the extension says so (`--fallback on`, Entra's `fallbackToMicrosoftProviderOnError`);
//! otherwise no code goes out, as in Entra, and the code is spent so that asking again makes
//! a new one. The call is made beside the request, so neither its time nor its failure tells
//! an address with an account from one without.

use super::callout::CallFor;
use super::payload::{CalloutContext, envelope, otp_context};
use super::{Answer, ExtensionEvent};
use crate::directory::Tenant;
use crate::ids::{ClientId, OtpChallengeId};
use crate::otp::{OtpPurpose, OtpRequest, OtpSendError};
use crate::outbox::OutboundMessage;
use crate::{CoreError, Portico};

/// Entra's `authenticationContext.requestType` for what a code is for. Only `signUp` is seen
/// in Microsoft's captures; the others follow its pattern (UNCONFIRMED).
fn request_type(purpose: OtpPurpose) -> &'static str {
    match purpose {
        OtpPurpose::SignUp => "signUp",
        OtpPurpose::SignIn => "signIn",
        OtpPurpose::PasswordReset => "passwordReset",
        OtpPurpose::Mfa => "mfa",
        OtpPurpose::VerifyContact => "verifyContact",
    }
}

impl Portico {
    /// Sends an emailed code through the OtpSend extension serving `client`, if there is one
    /// (`Ok(None)`: none; the caller mails it as usual).
    pub(crate) async fn send_code_by_extension(
        &self,
        tenant: &Tenant,
        client: Option<ClientId>,
        request: OtpRequest<'_>,
        compose: impl FnOnce(&str) -> OutboundMessage,
    ) -> Result<Option<OtpChallengeId>, OtpSendError> {
        let Some(extension) = self
            .extension_for(tenant.id, ExtensionEvent::OtpSend, client)
            .await?
        else {
            return Ok(None);
        };
        let extension = &extension;
        let (challenge, code) = self.issue_otp_undelivered(tenant, request).await?;
        // A code sent moments ago serves instead: it was delivered then.
        let Some(code) = code else {
            return Ok(Some(challenge));
        };
        let app = self.app_of(tenant.id, client).await?;
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let context = CalloutContext {
            tenant,
            extension,
            correlation_id: &correlation_id,
            client: app.as_ref(),
            resource: None,
            client_ip: Some(request.requester),
            locale: None,
            user: None,
            request_type: Some(request_type(request.purpose)),
        };
        let payload = envelope(&context, otp_context(request.subject, &code));
        let delivery = Delivery {
            tenant: tenant.clone(),
            extension: extension.clone(),
            payload,
            correlation_id,
            client,
            challenge,
            // Composed now (the person's language is at hand only in the request).
            fallback: extension.fallback.then(|| compose(&code)),
        };
        // The call goes on beside the request: the step answers as fast for a real account
        // as for an address without one (whose notice is only queued), and a failed call
        // shows nothing a decoy would not (Entra sends no code either, unless it falls back).
        match self.shared.get().and_then(std::sync::Weak::upgrade) {
            Some(portico) => {
                tokio::spawn(async move { portico.deliver_code(delivery).await });
            }
            None => self.deliver_code(delivery).await,
        }
        Ok(Some(challenge))
    }

    /// Hands a code to its extension; if that fails, the mailer sends it (when the extension
    /// asked for that) or the code is spent (so the next try makes and sends a new one).
    async fn deliver_code(&self, delivery: Delivery) {
        let Delivery {
            tenant,
            extension,
            payload,
            correlation_id,
            client,
            challenge,
            fallback,
        } = delivery;
        let call = CallFor {
            correlation_id: &correlation_id,
            client,
            nonce: None,
        };
        // parse_answer allows no other action than Continue for this event.
        let answer = self
            .call_extension(&tenant, &extension, &payload, call)
            .await;
        if let Ok(Answer::Continue) = answer {
            return;
        }
        let handled = match fallback {
            Some(message) => {
                tracing::info!(tenant.id = %tenant.id, "the extension failed; the code goes by mail");
                let now = self.now();
                let expires =
                    now + self.settings.otp.lifetime_secs + crate::outbox::DISCARD_GRACE_SECS;
                match self
                    .outbox_seal()
                    .seal(&message, Some(tenant.id), now, expires)
                {
                    Ok(sealed) => {
                        let queued = self.store.enqueue_message(&sealed).await;
                        if queued.is_ok() {
                            self.outbox_queued.notify_one();
                        }
                        queued.map_err(CoreError::from)
                    }
                    Err(err) => Err(err),
                }
            }
            None => self
                .store
                .consume_otp(tenant.id, challenge, self.now())
                .await
                .map(drop)
                .map_err(CoreError::from),
        };
        if let Err(err) = handled {
            tracing::warn!(tenant.id = %tenant.id, error = %err, "after a failed extension call");
        }
    }
}

/// A code on its way to an extension.
struct Delivery {
    tenant: Tenant,
    extension: super::Extension,
    payload: serde_json::Value,
    correlation_id: String,
    client: Option<ClientId>,
    challenge: OtpChallengeId,
    fallback: Option<OutboundMessage>,
}
