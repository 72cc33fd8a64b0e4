//! Continuation tokens: the handle a front door without cookies (the native-authentication API)
//! gives a client between the steps of one flow.
//!
//! A token names a flow, the engine step it was issued at and the front door's own stage (which
//! endpoint may take it next), and carries an expiry. It is authenticated with a key derived
//! from the master key and bound to the tenant, so it cannot be forged, moved to another tenant
//! or client, or stretched. It holds no secret: the flow itself stays in the store.
//!
//! Single use follows from the step: a token is good only while its flow still stands at the
//! step it was issued at, so once a step is passed every token of that step is dead, while a
//! failed try (a wrong password or code) leaves the flow where it was and the client may try
//! again with the same token, as Microsoft's SDKs do.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::flows::SignInFlow;
use crate::directory::Tenant;
use crate::ids::{ClientId, FlowId, TenantId};
use crate::{CoreError, Portico};

/// The longest a continuation token lives (the native contract allows at most 10 minutes).
pub const CONTINUATION_LIFETIME_SECS: i64 = 600;

/// What a continuation token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// The flow.
    #[serde(rename = "f")]
    pub flow: FlowId,
    /// The app the flow signs in to.
    #[serde(rename = "c")]
    pub client: ClientId,
    /// The engine step the token was issued at (`Step::name`).
    #[serde(rename = "s")]
    pub step: String,
    /// The front door's stage: which of its endpoints may take the token.
    #[serde(rename = "g")]
    pub stage: String,
    /// Whether a code for this step was sent and not yet announced to the client (so the next
    /// challenge call announces it instead of sending another).
    #[serde(rename = "n", default)]
    pub code_fresh: bool,
    /// Expiry (Unix seconds).
    #[serde(rename = "e")]
    pub expires_at: i64,
}

/// Why a continuation token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContinuationError {
    /// Not a token of ours, for this tenant and client.
    #[error("the continuation token is not valid")]
    Invalid,
    /// Past its expiry, or its flow is gone.
    #[error("the continuation token has expired")]
    Expired,
    /// A real token, but its flow has moved past the step it was issued at, or it belongs to
    /// another endpoint.
    #[error("the continuation token is not valid for this step")]
    WrongStep,
}

impl Portico {
    /// Issues a token for `flow` at its current step, for the front door's `stage`.
    pub fn continuation_token(
        &self,
        tenant: &Tenant,
        flow: &SignInFlow,
        stage: &str,
        code_fresh: bool,
    ) -> Result<String, CoreError> {
        let client = flow
            .client_id
            .ok_or_else(|| CoreError::Internal("a continued flow has no client".into()))?;
        let claims = Continuation {
            flow: flow.id,
            client,
            step: flow.flow.step.name().to_owned(),
            stage: stage.to_owned(),
            code_fresh,
            expires_at: self.now() + CONTINUATION_LIFETIME_SECS,
        };
        seal(&self.continuation_key, tenant.id, &claims)
    }

    /// Reads a token presented by `client` and loads its flow, which must still stand at the
    /// token's step.
    pub async fn resume_continuation(
        &self,
        tenant: &Tenant,
        client: ClientId,
        token: &str,
    ) -> Result<(Continuation, SignInFlow), ResumeError> {
        let claims = self.read_continuation(tenant, client, token)?;
        let flow = self
            .find_flow(tenant, claims.flow)
            .await?
            .filter(|flow| flow.origin.native.is_some() && flow.client_id == Some(client))
            // Flows outlive their tokens, so a live token without its flow means the flow was
            // spent (tokens issued): a replay.
            .ok_or(ContinuationError::WrongStep)?;
        if flow.flow.step.name() != claims.step {
            return Err(ContinuationError::WrongStep.into());
        }
        Ok((claims, flow))
    }

    /// Checks a token's tag, tenant, client and expiry, without touching the store.
    pub fn read_continuation(
        &self,
        tenant: &Tenant,
        client: ClientId,
        token: &str,
    ) -> Result<Continuation, ContinuationError> {
        verify(&self.continuation_key, tenant.id, client, self.now(), token)
    }
}

/// Reads `token` under a fixed key, for the `continuation_token` fuzz target: the whole parse
/// and check without a `Portico`.
#[doc(hidden)]
pub fn read_with_fixed_key(token: &str) -> Result<Continuation, ContinuationError> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"portico fuzzing key");
    verify(
        &key,
        TenantId(uuid::Uuid::nil()),
        ClientId(uuid::Uuid::nil()),
        0,
        token,
    )
}

/// The token's tag (over tenant and payload), then its client and expiry.
fn verify(
    key: &hmac::Key,
    tenant: TenantId,
    client: ClientId,
    now: i64,
    token: &str,
) -> Result<Continuation, ContinuationError> {
    let (payload, tag) = token.split_once('.').ok_or(ContinuationError::Invalid)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| ContinuationError::Invalid)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| ContinuationError::Invalid)?;
    hmac::verify(key, &signed_bytes(tenant, &payload), &tag)
        .map_err(|_| ContinuationError::Invalid)?;
    let claims: Continuation =
        serde_json::from_slice(&payload).map_err(|_| ContinuationError::Invalid)?;
    if claims.client != client {
        return Err(ContinuationError::Invalid);
    }
    if claims.expires_at <= now {
        return Err(ContinuationError::Expired);
    }
    Ok(claims)
}

/// Writes a token: payload and tag, each base64url.
fn seal(key: &hmac::Key, tenant: TenantId, claims: &Continuation) -> Result<String, CoreError> {
    let payload = serde_json::to_vec(claims)
        .map_err(|e| CoreError::Internal(format!("continuation token: {e}")))?;
    let tag = hmac::sign(key, &signed_bytes(tenant, &payload));
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    ))
}

/// Why a flow could not be resumed from a token.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The token was refused.
    #[error(transparent)]
    Token(#[from] ContinuationError),
    /// Something failed inside.
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// What the tag covers: the tenant (so a token cannot cross tenants) and the payload.
fn signed_bytes(tenant: TenantId, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(16 + payload.len());
    bytes.extend_from_slice(tenant.0.as_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key() -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, b"test key")
    }

    fn claims(client: ClientId) -> Continuation {
        Continuation {
            flow: FlowId::new_random(),
            client,
            step: "password".into(),
            stage: "signin".into(),
            code_fresh: false,
            expires_at: 1_000,
        }
    }

    #[test]
    fn a_token_reads_back_only_for_its_tenant_client_and_time() {
        let (tenant, client) = (TenantId::new_random(), ClientId::new_random());
        let token = seal(&key(), tenant, &claims(client)).unwrap();
        assert_eq!(
            verify(&key(), tenant, client, 999, &token).unwrap().step,
            "password"
        );
        let refused = [
            verify(&key(), TenantId::new_random(), client, 999, &token),
            verify(&key(), tenant, ClientId::new_random(), 999, &token),
            verify(
                &hmac::Key::new(hmac::HMAC_SHA256, b"other"),
                tenant,
                client,
                999,
                &token,
            ),
        ];
        assert!(
            refused
                .iter()
                .all(|r| *r == Err(ContinuationError::Invalid))
        );
        assert_eq!(
            verify(&key(), tenant, client, 1_000, &token),
            Err(ContinuationError::Expired)
        );
    }

    proptest! {
        /// Any string is refused, never a panic.
        #[test]
        fn strangers_are_refused(token in any::<String>()) {
            prop_assert!(read_with_fixed_key(&token).is_err());
        }

        /// Changing any one character of a real token breaks it.
        #[test]
        fn every_character_counts(position in any::<prop::sample::Index>(), replacement in "[A-Za-z0-9_.-]") {
            let (tenant, client) = (TenantId::new_random(), ClientId::new_random());
            let token = seal(&key(), tenant, &claims(client)).unwrap();
            let index = position.index(token.len());
            let mut changed = token.clone();
            changed.replace_range(index..=index, &replacement);
            prop_assume!(changed != token);
            prop_assert!(verify(&key(), tenant, client, 0, &changed).is_err());
        }
    }
}
