use super::engine::Flow;
use super::flows::FlowUser;
use crate::directory::{Tenant, User};
use crate::ids::{ClientId, SessionId};
use crate::secret::{digest_secret, random_token};
use crate::store::SessionRecord;
use crate::{CoreError, Portico};

/// A live SSO session and its (enabled) user.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    /// The session.
    pub record: SessionRecord,
    /// Its user.
    pub user: User,
}

impl Portico {
    /// Starts an SSO session for a user who just authenticated in `proof` (a finished flow:
    /// its RFC 8176 methods and the kind of second factor passed). Returns the cookie secret
    /// (only its digest is stored) and the session; [`CoreError::SessionEnded`] if the user
    /// was signed out everywhere or disabled since [`Portico::flow_user`] looked.
    pub async fn start_session(
        &self,
        tenant: &Tenant,
        signed_in: &FlowUser,
        persistent: bool,
        proof: &Flow,
    ) -> Result<(String, SessionRecord), CoreError> {
        let (secret, record) = self.new_session(tenant, &signed_in.user, persistent, proof)?;
        self.store
            .create_session(&record, signed_in.signed_out_at)
            .await?;
        Ok((secret, record))
    }

    /// A new session for `user`, not yet stored, and its cookie secret.
    pub(crate) fn new_session(
        &self,
        tenant: &Tenant,
        user: &User,
        persistent: bool,
        proof: &Flow,
    ) -> Result<(String, SessionRecord), CoreError> {
        let secret = random_token()?;
        let now = self.now();
        let lifetime = if persistent {
            self.settings.persistent_session_lifetime_secs
        } else {
            self.settings.session_lifetime_secs
        };
        let record = SessionRecord {
            id: SessionId::new_random(),
            secret_digest: digest_secret(&secret),
            tenant_id: tenant.id,
            user_id: user.id,
            auth_time: now,
            amr: proof.amr().join(" "),
            expires_at: now + lifetime,
            persistent,
            second_factors: proof.second_factor.into_iter().collect(),
        };
        Ok((secret, record))
    }

    /// The session a cookie names, if it is live and its user may still sign in.
    pub async fn resume_session(
        &self,
        tenant: &Tenant,
        cookie_secret: &str,
    ) -> Result<Option<ActiveSession>, CoreError> {
        if cookie_secret.len() != 43 {
            return Ok(None);
        }
        let Some(record) = self
            .store
            .find_session(tenant.id, &digest_secret(cookie_secret), self.now())
            .await?
        else {
            return Ok(None);
        };
        let user = self.store.find_user(tenant.id, record.user_id).await?;
        Ok(user
            .filter(|user| user.enabled)
            .map(|user| ActiveSession { record, user }))
    }

    /// Ends a session and revokes what was granted in it; the apps it served that listen on
    /// the back channel are told through the outbox. Returns the apps it served.
    pub async fn end_session(
        &self,
        tenant: &Tenant,
        session: SessionId,
    ) -> Result<Vec<ClientId>, CoreError> {
        Ok(self
            .store
            .end_session(tenant.id, session, self.now())
            .await?)
    }
}
