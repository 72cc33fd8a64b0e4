//! The device authorization grant (RFC 8628): a device without a browser (a TV, a CLI) asks
//! for a device code and shows its user code; the person opens the verification page on
//! another device, types the code, signs in on the sign-in engine (and consents, if the app
//! asks for scopes nobody granted), and approves or declines; the device polls the token
//! endpoint meanwhile. MSAL Node polls with `grant_type=device_code` rather than the RFC's
//! URN: both are the same grant here.

use std::net::IpAddr;

use super::client_auth::ClientAuthMethod;
use super::grants::TokenRequest;
use super::{ClientCredentials, OAuthError, OAuthErrorCode, Scope};
use crate::directory::{AppKind, Application, Tenant};
use crate::ids::{ClientId, DeviceCodeId, GrantId};
use crate::secret::{digest_secret, random_token};
use crate::signin::ActiveSession;
use crate::signin::engine::ConsentAsk;
use crate::store::{DeviceApproval, DeviceCodeRecord, DeviceCodeState, DevicePoll, GrantRecord};
use crate::tokens::IssuedTokens;
use crate::{CoreError, Portico, StoreError};

/// The RFC 8628 grant type.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// User codes are drawn from these 20 consonants (RFC 8628 §6.1): no vowels (no words), no
/// look-alikes; eight of them are about 34 bits, tried only a few times a minute.
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;

/// A device authorization request, as the HTTP layer read it.
#[derive(Debug, Clone, Default)]
pub struct DeviceAuthorizationRequest {
    /// `scope`.
    pub scope: Option<String>,
    /// Client authentication (`client_id` alone for public clients).
    pub credentials: ClientCredentials,
}

/// The device authorization response (RFC 8628 §3.2), with Entra's `message`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceAuthorization {
    /// The device's secret for polling.
    pub device_code: String,
    /// What the person types (`XXXX-XXXX`).
    pub user_code: String,
    /// Where the person types it.
    pub verification_uri: String,
    /// The same page with the code filled in (for a QR code or a link).
    pub verification_uri_complete: String,
    /// Seconds the device code lives.
    pub expires_in: i64,
    /// Seconds between polls (always sent: MSAL polls in a tight loop without it).
    pub interval: i64,
    /// A sentence the device can show as it is.
    pub message: String,
}

/// A user code as the person typed it, normalised: upper case, separators dropped; `None`
/// if it cannot be a user code at all.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

/// How a user code is shown: `BCDF-GHJK`.
pub fn display_user_code(code: &str) -> String {
    match code.split_at_checked(USER_CODE_LEN / 2) {
        Some((first, second)) => format!("{first}-{second}"),
        None => code.to_owned(),
    }
}

fn new_user_code() -> Result<String, CoreError> {
    let mut code = String::with_capacity(USER_CODE_LEN);
    let mut bytes = [0u8; 32];
    while code.len() < USER_CODE_LEN {
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| CoreError::Internal("rng failed".into()))?;
        // Rejection sampling: 240 is the largest multiple of 20 below 256, so every letter is
        // equally likely.
        for byte in bytes.iter().filter(|b| **b < 240) {
            if code.len() == USER_CODE_LEN {
                break;
            }
            let letter = USER_CODE_ALPHABET
                .get(usize::from(*byte) % USER_CODE_ALPHABET.len())
                .copied()
                .unwrap_or(b'B');
            code.push(char::from(letter));
        }
    }
    Ok(code)
}

/// A pending device authorization the person is about to approve: its record and the app
/// that asked (whose name the page shows, so a code from someone else's device stands out).
#[derive(Debug, Clone)]
pub struct PendingDevice {
    /// The record.
    pub record: DeviceCodeRecord,
    /// The app on the device.
    pub app: Application,
}

impl Portico {
    /// The device authorization endpoint (RFC 8628 §3.1): a device code and a user code for
    /// a native app (public) or a web app (which authenticates). Each client network asks
    /// only so often: every device code is a stored record.
    pub async fn device_authorization(
        &self,
        tenant: &Tenant,
        request: &DeviceAuthorizationRequest,
        ip: IpAddr,
    ) -> Result<DeviceAuthorization, OAuthError> {
        let (app, _) = self
            .authenticate_client(tenant, &request.credentials)
            .await?;
        if !app.device_code || !matches!(app.kind, AppKind::Native | AppKind::Web) {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "the device code flow is not enabled for this application",
            ));
        }
        let scope = Scope::parse(request.scope.as_deref().unwrap_or_default())?;
        if scope.is_empty() {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "scope is required",
            ));
        }
        self.check_requested_scope(tenant, &app, &scope).await?;
        if !self.rate_limits.allow_flow_start(tenant.id, ip) {
            return Err(CoreError::RateLimited.into());
        }
        let device_code = random_token()?;
        let now = self.now();
        let lifetime = self.settings.device_code_lifetime_secs;
        let interval = self.settings.device_code_interval_secs;
        let mut record = DeviceCodeRecord {
            tenant_id: tenant.id,
            id: DeviceCodeId::new_random(),
            device_code_digest: digest_secret(&device_code),
            user_code: new_user_code()?,
            client_id: app.client_id,
            scope: scope.to_wire(),
            created_at: now,
            expires_at: now + lifetime,
            interval_secs: interval,
            last_poll_at: None,
            state: DeviceCodeState::Pending,
            approval: None,
        };
        // A user code already taken in the tenant (one in 25 billion per live code): draw again.
        let mut tries = 0;
        loop {
            match self.store.create_device_code(&record).await {
                Ok(()) => break,
                Err(StoreError::Conflict(_)) if tries < 3 => {
                    tries += 1;
                    record.user_code = new_user_code()?;
                }
                Err(err) => return Err(CoreError::from(err).into()),
            }
        }
        let user_code = display_user_code(&record.user_code);
        let verification_uri = format!("{}/{}/device", self.settings.public_url, tenant.id);
        Ok(DeviceAuthorization {
            device_code,
            verification_uri_complete: format!("{verification_uri}?user_code={user_code}"),
            message: format!(
                "To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."
            ),
            user_code,
            verification_uri,
            expires_in: lifetime,
            interval,
        })
    }

    /// The pending device authorization a person typed the user code of (each client network
    /// gets only a few tries a minute: user codes are short). `None` for an unknown, used or
    /// expired code.
    pub async fn pending_device(
        &self,
        tenant: &Tenant,
        typed: &str,
        ip: IpAddr,
    ) -> Result<Option<PendingDevice>, CoreError> {
        if !self.rate_limits.allow_user_code(tenant.id, ip) {
            return Err(CoreError::RateLimited);
        }
        let Some(code) = normalize_user_code(typed) else {
            return Ok(None);
        };
        let Some(record) = self
            .store
            .pending_device_code(tenant.id, &code, self.now())
            .await?
        else {
            return Ok(None);
        };
        Ok(self
            .application(tenant.id, record.client_id)
            .await?
            .map(|app| PendingDevice { record, app }))
    }

    /// The person declined on the device page (or the consent step): the device hears
    /// `access_denied`.
    pub async fn deny_device(&self, tenant: &Tenant, id: DeviceCodeId) -> Result<bool, CoreError> {
        Ok(self.store.deny_device_code(tenant.id, id).await?)
    }

    /// The consent a sign-in for a device authorization must get (as for an authorization
    /// request; `prompt=consent` has no device counterpart).
    pub(crate) async fn consent_for_device(
        &self,
        tenant: &Tenant,
        client: ClientId,
        id: DeviceCodeId,
    ) -> Result<Option<ConsentAsk>, CoreError> {
        let (Some(record), Some(app)) = (
            self.store.device_code(tenant.id, id).await?,
            self.application(tenant.id, client).await?,
        ) else {
            return Ok(None);
        };
        let Ok(scope) = Scope::parse(&record.scope) else {
            return Ok(None);
        };
        self.consent_ask(tenant, &app, &scope, false).await
    }

    /// A sign-in for the device authorization `id` finished in `session`: approve it, so the
    /// device's next poll gets tokens. The app's rules for the user are decided now (an
    /// assignment-required API, a scope the user may not have): a refusal denies the device
    /// and is returned. `Ok(None)` when the authorization was no longer pending.
    pub async fn approve_device(
        &self,
        tenant: &Tenant,
        id: DeviceCodeId,
        session: &ActiveSession,
    ) -> Result<Option<Result<(), OAuthError>>, CoreError> {
        let Some(record) = self.store.device_code(tenant.id, id).await? else {
            return Ok(None);
        };
        let Some(app) = self.application(tenant.id, record.client_id).await? else {
            return Ok(None);
        };
        // The operator turned the flow off since the code was issued: it ends here.
        if !app.device_code {
            self.store.deny_device_code(tenant.id, id).await?;
            return Ok(Some(Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "the device code flow is not enabled for this application",
            ))));
        }
        let scope = Scope::parse(&record.scope).map_err(|e| CoreError::Internal(e.description))?;
        let audience = match self
            .delegated_audience(tenant, &app, &scope, session.user.id)
            .await
        {
            Ok(audience) => audience,
            // The app's rules refuse this user: the device hears it.
            Err(refused)
                if matches!(
                    refused.code,
                    OAuthErrorCode::InvalidScope
                        | OAuthErrorCode::InvalidGrant
                        | OAuthErrorCode::AccessDenied
                ) =>
            {
                self.store.deny_device_code(tenant.id, id).await?;
                return Ok(Some(Err(refused)));
            }
            // A failure inside is no verdict on the user: the device stays pending.
            Err(failed) => return Err(CoreError::Internal(failed.description)),
        };
        // Asked while the person is at the approval page, which shows a failure (the device
        // stays pending, so approving again retries); the answer goes to the device's tokens.
        let provided = self
            .claims_from_extensions(tenant, &app, &audience.app, Some(&session.user))
            .await?;
        let now = self.now();
        let grant_id = GrantId::new_random();
        let grant = GrantRecord {
            tenant_id: tenant.id,
            id: grant_id,
            client_id: app.client_id,
            user_id: session.user.id,
            session_id: session.record.id,
            created_at: now,
        };
        let approval = DeviceApproval {
            grant_id,
            user_id: session.user.id,
            session_id: session.record.id,
            auth_time: session.record.auth_time,
            amr: session.record.amr.clone(),
            extension_claims: provided.to_stored()?,
        };
        let approved = self
            .store
            .approve_device_code(tenant.id, id, &grant, &approval, now)
            .await?;
        Ok(approved.then_some(Ok(())))
    }

    /// The device code grant: the device's poll (RFC 8628 §3.4, §3.5).
    pub(super) async fn grant_device_code(
        &self,
        tenant: &Tenant,
        request: &TokenRequest,
        sender: Option<&super::DpopKey>,
    ) -> Result<IssuedTokens, OAuthError> {
        let presented = request
            .device_code
            .as_deref()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
        let (app, auth_method) = self
            .authenticate_sender(tenant, &request.credentials, sender)
            .await?;
        super::grants::check_browser_origin(&app, request.origin.as_deref())?;
        if !app.device_code {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "the device code flow is not enabled for this application",
            ));
        }
        let now = self.now();
        let polled = match self
            .store
            .poll_device_code(tenant.id, app.client_id, &digest_secret(presented), now)
            .await
        {
            Ok(polled) => polled,
            // Polls racing each other: this one waits (MSAL stops polling on anything but
            // authorization_pending and slow_down).
            Err(StoreError::Contended) => {
                return Err(OAuthError::new(
                    OAuthErrorCode::SlowDown,
                    "polled too often: wait five seconds longer between polls",
                ));
            }
            Err(err) => return Err(CoreError::from(err).into()),
        };
        let (record, too_fast) = match polled {
            DevicePoll::Polled { record, too_fast } => (record, too_fast),
            DevicePoll::Unknown => {
                return Err(OAuthError::invalid_grant("the device code is not valid"));
            }
        };
        let refuse = |code, description: &str| Err(OAuthError::new(code, description));
        match (record.state, &record.approval) {
            (DeviceCodeState::Denied, _) => refuse(
                OAuthErrorCode::AccessDenied,
                "the user declined the authorization",
            ),
            (DeviceCodeState::Redeemed, approval) => {
                // A device code used twice was copied: what it gave ends.
                let reason = "the device code was already used";
                match approval {
                    Some(approval) => Err(self
                        .revoke_and_refuse(tenant, approval.grant_id, reason)
                        .await),
                    None => Err(OAuthError::invalid_grant(reason)),
                }
            }
            _ if record.expires_at <= now => {
                refuse(OAuthErrorCode::ExpiredToken, "the device code has expired")
            }
            (DeviceCodeState::Pending, _) if too_fast => refuse(
                OAuthErrorCode::SlowDown,
                "polled too often: wait five seconds longer between polls",
            ),
            (DeviceCodeState::Pending, _) | (DeviceCodeState::Approved, None) => refuse(
                OAuthErrorCode::AuthorizationPending,
                "the user has not finished signing in yet",
            ),
            (DeviceCodeState::Approved, Some(approval)) => {
                self.redeem_device(
                    tenant,
                    (&app, auth_method),
                    &record,
                    approval,
                    (request, sender),
                )
                .await
            }
        }
    }

    async fn redeem_device(
        &self,
        tenant: &Tenant,
        (app, auth_method): (&Application, ClientAuthMethod),
        record: &DeviceCodeRecord,
        approval: &DeviceApproval,
        (request, sender): (&TokenRequest, Option<&super::DpopKey>),
    ) -> Result<IssuedTokens, OAuthError> {
        if !self
            .store
            .redeem_device_code(tenant.id, record.id)
            .await
            .map_err(CoreError::from)?
        {
            return Err(OAuthError::invalid_grant(
                "the device code was already used",
            ));
        }
        // The person's sign-in ended since the approval (a sign-out everywhere, a new password,
        // a disabled account): nothing comes of it.
        if !self
            .store
            .grant_is_active(tenant.id, approval.grant_id)
            .await
            .map_err(CoreError::from)?
        {
            return Err(OAuthError::invalid_grant(
                "the sign-in this device code came from has ended",
            ));
        }
        let scope = Scope::parse(&record.scope)?;
        self.issue_for_grant(super::grants::Approved {
            tenant,
            app,
            auth_method,
            user_id: approval.user_id,
            scope: &scope,
            nonce: None,
            auth_time: approval.auth_time,
            amr: &approval.amr,
            session_id: approval.session_id,
            grant_id: approval.grant_id,
            client_info: request.client_info,
            sender,
            provided: crate::extensions::ProvidedClaims::from_stored(
                approval.extension_claims.as_deref(),
            ),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever is typed: no panic; what is accepted is eight letters of the alphabet and
        /// survives being shown and typed again.
        #[test]
        fn any_typed_text_normalises_safely(typed in ".{0,24}") {
            if let Some(code) = normalize_user_code(&typed) {
                prop_assert_eq!(code.len(), USER_CODE_LEN);
                prop_assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
                prop_assert_eq!(normalize_user_code(&display_user_code(&code)), Some(code));
            }
        }
    }

    #[test]
    fn user_codes_are_eight_consonants_shown_in_two_halves() {
        for _ in 0..200 {
            let code = new_user_code().unwrap();
            assert_eq!(normalize_user_code(&code).as_deref(), Some(code.as_str()));
            let shown = display_user_code(&code);
            assert_eq!(shown.len(), 9);
            assert_eq!(normalize_user_code(&shown.to_lowercase()), Some(code));
        }
        for typed in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "ABCD-EFGH",
            "BCDF-GHJ1",
            "ßCDF-GHJK",
        ] {
            assert_eq!(normalize_user_code(typed), None, "{typed}");
        }
        assert_eq!(
            normalize_user_code(" bcdf ghjk ").as_deref(),
            Some("BCDFGHJK")
        );
    }
}
