//! OnOtpSend (Entra's `emailOtpSend`): the company's service delivers emailed codes. The code
//! is issued as always (one live code per address and purpose, the same limits), but no mail
//! is queued; the extension gets the code. If the call fails, Portico's own mailer sends it
//! when the extension says so (`--fallback on`, Entra's `fallbackToMicrosoftProviderOnError`);
//! otherwise the step fails and the person is told to try again.

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
        let extensions = self.extensions(tenant.id).await?;
        let Some(extension) = extensions.iter().find(|e| {
            e.event == ExtensionEvent::OtpSend
                && client.map_or(e.apps.is_empty(), |client| e.applies_to(client))
        }) else {
            return Ok(None);
        };
        let (challenge, code) = self.issue_otp_undelivered(tenant, request).await?;
        // A code sent moments ago serves instead: it was delivered then.
        let Some(code) = code else {
            return Ok(Some(challenge));
        };
        let app = match client {
            Some(client) => self
                .application(tenant.id, client)
                .await
                .map_err(CoreError::from)?,
            None => None,
        };
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
        let call = CallFor {
            correlation_id: &correlation_id,
            client,
            nonce: None,
        };
        let failed = match self.call_extension(tenant, extension, &payload, call).await {
            Ok(Answer::Continue) => return Ok(Some(challenge)),
            // parse_answer allows no other action for this event.
            Ok(_) => CoreError::Extension {
                code: 1_003_012,
                name: "InvalidActionType",
            },
            Err(failed) => CoreError::from(failed),
        };
        if extension.fallback {
            tracing::info!(tenant.id = %tenant.id, error = %failed, "the code goes by mail instead");
            let now = self.now();
            let message = self.outbox_seal().seal(
                &compose(&code),
                Some(tenant.id),
                now,
                now + self.settings.otp.lifetime_secs + crate::outbox::DISCARD_GRACE_SECS,
            )?;
            self.store
                .enqueue_message(&message)
                .await
                .map_err(CoreError::from)?;
            return Ok(Some(challenge));
        }
        // The code reached no one: spent, so the next try makes (and sends) a new one
        // instead of reusing it.
        self.store
            .consume_otp(tenant.id, challenge, self.now())
            .await
            .map_err(CoreError::from)?;
        Err(failed.into())
    }
}
