//! The engine's driver: loads a flow, feeds it events, carries out the effects it asks for
//! (the only place the engine touches the store, the mail queue or the password pool), and
//! saves it with a version check so two requests cannot both move it.

use std::collections::VecDeque;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::ActiveSession;
use super::effects::facts;
use super::engine::{Effect, Event, FirstFactor, Flow, Illegal, Journey, Problem, Rules, Step};
use super::messages::MessageTexts;
use crate::clock::UnixTime;
use crate::directory::{Tenant, User, UserFlowConfig};
use crate::ids::{ClientId, DeviceCodeId, FlowId, SessionId};
use crate::oauth::AuthorizeParams;
use crate::store::{FlowRecord, FlowWrite};
use crate::{CoreError, Portico, StoreError};

/// A flow lives this long after its last step...
const IDLE_SECS: i64 = 30 * 60;
/// ...and never longer than this in all.
const MAX_SECS: i64 = 2 * 3600;
/// The largest stored flow state (JSON): a flow with every attribute at its longest is far
/// below it.
const MAX_STATE_BYTES: usize = 64 * 1024;
/// Events of one request (the hosted sign-in form sends the email and password together).
const MAX_EVENTS_PER_REQUEST: usize = 4;

/// Where a flow came from and where it goes when done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowOrigin {
    /// Hosted pages: the authorization request the flow completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize: Option<AuthorizeParams>,
    /// Hosted pages: binds the flow to one browser (a digest of its anti-forgery cookie), so a
    /// flow id seen elsewhere is useless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    /// Native API: the flow is driven by continuation tokens (and only by them); what the
    /// client said it can handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<NativeClient>,
    /// Step-up: the SSO session whose user this flow authenticates further. The flow ends by
    /// strengthening that session, and cannot finish once the session has ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up: Option<SessionId>,
    /// Device code flow (hosted pages): the device authorization this sign-in approves when
    /// it finishes (or denies, if the person declines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceCodeId>,
}

impl FlowOrigin {
    /// The origin of a sibling journey started from this flow's page ("Create account",
    /// "Forgot password?"): the same request and browser, but a flow of its own, never the
    /// step-up of a session.
    pub fn for_sibling(&self) -> Self {
        Self {
            step_up: None,
            ..self.clone()
        }
    }
}

/// What a native-API client can handle, as it said when the flow started: challenge types
/// (`password`, `oob`) and capabilities (`mfa_required`, `registration_required`). A step it
/// cannot handle sends it to the browser (the contract's redirect fallback).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeClient {
    /// Can ask for a password.
    pub password: bool,
    /// Can ask for a one-time code.
    pub oob: bool,
    /// Can answer a second-factor challenge.
    pub mfa: bool,
    /// Can register a second factor.
    pub registration: bool,
    /// Can answer a passkey challenge (beyond Entra: `challenge_type` `passkey`).
    #[serde(default)]
    pub passkey: bool,
}

/// A flow with its identity, version and rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInFlow {
    /// Id (the handle front doors carry).
    pub id: FlowId,
    /// The app it signs in to.
    pub client_id: Option<ClientId>,
    /// Version (bumped on every save).
    pub version: i64,
    /// Start time.
    pub created_at: i64,
    /// The state machine.
    pub flow: Flow,
    /// Where it came from.
    pub origin: FlowOrigin,
    /// The user flow's rules, fixed when the flow started.
    pub config: UserFlowConfig,
    /// When the flow's user had last been signed out everywhere (0: never), as read when the
    /// flow first knew the user (`None`: not yet known). If it changes before the flow
    /// finishes (a new password, a disabled account), the flow cannot finish.
    pub seen_sign_out: Option<i64>,
    /// The tenant's SMS countries when the flow started (empty: anywhere).
    pub sms_countries: Vec<String>,
}

impl SignInFlow {
    /// What binds a passkey ceremony to this flow: only the flow that started one finishes
    /// it, so an answer captured from another sign-in is worthless here.
    pub fn passkey_binding(&self) -> String {
        format!("flow:{}", self.id)
    }

    /// The rules the engine applies to this flow.
    pub fn rules(&self, reveal_accounts: bool) -> Rules<'_> {
        Rules {
            config: &self.config,
            reveal_accounts,
            sms_countries: &self.sms_countries,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    flow: Flow,
    origin: FlowOrigin,
    config: UserFlowConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seen_sign_out: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sms_countries: Vec<String>,
}

/// Who is asking, for rate limits and messages.
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    /// Client address.
    pub ip: IpAddr,
    /// Message texts in the person's language.
    pub texts: &'a dyn MessageTexts,
    /// Whether answers may reveal whether an account exists (see [`Rules`]).
    pub reveal_accounts: bool,
}

impl std::fmt::Debug for Caller<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("ip", &self.ip)
            .finish_non_exhaustive()
    }
}

/// The result of advancing a flow.
#[derive(Debug, Clone)]
pub struct Advanced {
    /// The flow as saved.
    pub flow: SignInFlow,
    /// What went wrong with the last event, if anything.
    pub problem: Option<Problem>,
    /// Recovery codes issued just now: shown once, never stored in the clear.
    pub recovery_codes: Vec<String>,
}

/// Effects a request leaves for the person to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Carry out everything.
    Nothing,
    /// Send no code, to the second factor or to a factor being registered (the person asks
    /// for it on the page).
    Codes,
}

/// What effects of one request hand to each other and to the front door.
#[derive(Default)]
pub(super) struct Scratch {
    /// Recovery codes issued just now (shown once).
    pub(super) recovery_codes: Vec<String>,
    /// The time step of an authenticator code that was just accepted for registration.
    pub(super) totp_step: Option<i64>,
    /// What the step writes, committed with the flow's save (all or nothing).
    pub(super) writes: Vec<FlowWrite>,
    /// The sign-out everywhere a new password of this step makes: the flow has seen it.
    pub(super) signs_out_at: Option<i64>,
}

/// Why a flow could not be advanced.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// No live flow with this id in this tenant (expired, or never existed).
    #[error("sign-in flow not found or expired")]
    NotFound,
    /// The event does not belong to the flow's current step.
    #[error(transparent)]
    Illegal(#[from] Illegal),
    /// Another request moved the flow first.
    #[error("the flow changed in another request")]
    Contended,
    /// Something failed inside.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<StoreError> for FlowError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Contended => Self::Contended,
            other => Self::Core(other.into()),
        }
    }
}

/// The user a finished flow signed in ([`Portico::flow_user`]).
#[derive(Debug, Clone)]
pub struct FlowUser {
    /// The user, enabled as of the check.
    pub user: User,
    /// When the user was last signed out everywhere (0: never) as of the check: the session
    /// starts only if that still holds ([`Portico::start_session`]), so a sign-out
    /// everywhere in between is not outrun.
    pub signed_out_at: UnixTime,
}

impl Portico {
    /// Starts a flow for `client` under the user flow that serves it, for a person at `ip`.
    pub async fn start_flow(
        &self,
        tenant: &Tenant,
        client: Option<ClientId>,
        journey: Journey,
        origin: FlowOrigin,
        ip: IpAddr,
    ) -> Result<SignInFlow, CoreError> {
        let config = match client {
            Some(client) => self.user_flow_for_app(tenant, client).await?.config,
            None => self
                .cached_user_flows(tenant.id)
                .await?
                .iter()
                .find(|f| f.is_default)
                .map(|f| f.config.clone())
                .unwrap_or_default(),
        };
        self.start_flow_under(tenant, client, journey, origin, config, ip)
            .await
    }

    /// Starts a flow under rules the caller already read (with
    /// [`Portico::user_flow_for_app`]), so a front door can decide from them before any
    /// flow exists. Each client network starts only so many flows a minute: every flow is a
    /// stored record for up to 30 minutes, and a bot must not fill the store with them.
    pub async fn start_flow_under(
        &self,
        tenant: &Tenant,
        client: Option<ClientId>,
        journey: Journey,
        origin: FlowOrigin,
        config: UserFlowConfig,
        ip: IpAddr,
    ) -> Result<SignInFlow, CoreError> {
        if !self.rate_limits.allow_flow_start(tenant.id, ip) {
            return Err(CoreError::RateLimited);
        }
        let now = self.now();
        let mut engine = Flow::new(journey);
        if let Some(client) = client {
            engine.consent = match (&origin.authorize, origin.device) {
                (Some(params), _) => self.consent_for_request(tenant, client, params).await?,
                (None, Some(device)) => self.consent_for_device(tenant, client, device).await?,
                (None, None) => None,
            };
        }
        let flow = SignInFlow {
            id: FlowId::new_random(),
            client_id: client,
            version: 1,
            created_at: now,
            flow: engine,
            origin,
            config,
            seen_sign_out: None,
            sms_countries: self.tenant_settings(tenant.id).await?.sms_countries.clone(),
        };
        let record = self.flow_record(tenant, &flow)?;
        self.store.create_flow(&record).await?;
        metrics::counter!("portico_flows_started_total", "journey" => journey_label(journey))
            .increment(1);
        Ok(flow)
    }

    /// Starts a sign-in that goes on from `session`'s first factor to what `client`'s flow
    /// still needs of it: the second factor the flow requires (step-up), the user's consent
    /// to scopes the request asks for, or both; bound to the browser as `origin` says.
    pub async fn start_step_up(
        &self,
        tenant: &Tenant,
        client: ClientId,
        mut origin: FlowOrigin,
        session: &ActiveSession,
        caller: Caller<'_>,
    ) -> Result<Advanced, FlowError> {
        origin.step_up = Some(session.record.id);
        let flow = self
            .start_flow(tenant, Some(client), Journey::SignIn, origin, caller.ip)
            .await?;
        // A session that proved the mailbox (a code, a sign-up) counts as an emailed-code
        // first factor, so the mailbox cannot serve again as the second.
        let amr: Vec<&str> = session.record.amr.split(' ').collect();
        let first_factor = if amr.contains(&"hwk") || amr.contains(&"swk") {
            FirstFactor::Passkey {
                // `mfa` is the passkey's own only where no separate second factor was passed.
                user_verified: amr.contains(&"mfa") && session.record.second_factors.is_empty(),
                hardware_bound: amr.contains(&"hwk"),
            }
        } else if amr.contains(&"pwd") && !amr.contains(&"otp") {
            FirstFactor::Password
        } else {
            FirstFactor::EmailCode
        };
        // A second factor the session passed that this flow accepts counts here too: such a
        // flow exists only for the consent it still has to get.
        let second_factor = session
            .record
            .second_factors
            .iter()
            .copied()
            .find(|kind| flow.config.mfa_methods.contains(kind));
        let found = Event::SessionFound {
            user: facts(&session.user),
            email: session.user.email.clone(),
            first_factor,
            second_factor,
        };
        // The page of a step-up is reached by a plain GET (any site can send a browser
        // there): its code goes out only when the person asks on that page.
        self.advance(tenant, flow, vec![found], caller, Hold::Codes)
            .await
    }

    /// Records on a step-up flow's session that its user has now passed the second factor,
    /// if that session is still live and the flow's, and gives it a new cookie secret.
    /// Returns the new secret and the strengthened session.
    pub async fn finish_step_up(
        &self,
        tenant: &Tenant,
        flow: &SignInFlow,
        session: ActiveSession,
    ) -> Result<Option<(String, ActiveSession)>, CoreError> {
        let ours = flow.origin.step_up == Some(session.record.id)
            && flow.flow.user.as_ref().map(|u| u.id) == Some(session.user.id)
            && flow.flow.is_done();
        if !ours {
            return Ok(None);
        }
        let secret = crate::secret::random_token()?;
        let old_digest = session.record.secret_digest.clone();
        let mut session = session;
        // What the session proved before stays proved (a flow that only asked for consent
        // proves nothing new).
        let mut amr: Vec<&str> = session.record.amr.split_whitespace().collect();
        for method in flow.flow.amr() {
            if !amr.contains(&method) {
                amr.push(method);
            }
        }
        session.record.amr = amr.join(" ");
        session.record.secret_digest = crate::secret::digest_secret(&secret);
        if let Some(kind) = flow.flow.second_factor
            && !session.record.second_factors.contains(&kind)
        {
            session.record.second_factors.push(kind);
        }
        let strengthened = self
            .store
            .strengthen_session(tenant.id, &session.record, &old_digest, self.now())
            .await?;
        Ok(strengthened.then_some((secret, session)))
    }

    /// A live flow of this tenant.
    pub async fn find_flow(
        &self,
        tenant: &Tenant,
        id: FlowId,
    ) -> Result<Option<SignInFlow>, CoreError> {
        let Some(record) = self.store.find_flow(tenant.id, id, self.now()).await? else {
            return Ok(None);
        };
        let stored: Stored = serde_json::from_str(&record.state)
            .map_err(|e| CoreError::Internal(format!("unreadable flow state: {e}")))?;
        Ok(Some(SignInFlow {
            id: record.id,
            client_id: record.client_id,
            version: record.version,
            created_at: record.created_at,
            flow: stored.flow,
            origin: stored.origin,
            config: stored.config,
            seen_sign_out: stored.seen_sign_out,
            sms_countries: stored.sms_countries,
        }))
    }

    /// Feeds the person's events to the flow in order (stopping at the first problem), carries
    /// out the effects, and saves the flow if its stored version is still `flow.version`.
    pub async fn advance_flow(
        &self,
        tenant: &Tenant,
        current: SignInFlow,
        events: Vec<Event>,
        caller: Caller<'_>,
    ) -> Result<Advanced, FlowError> {
        self.advance(tenant, current, events, caller, Hold::Nothing)
            .await
    }

    async fn advance(
        &self,
        tenant: &Tenant,
        mut current: SignInFlow,
        events: Vec<Event>,
        caller: Caller<'_>,
        hold: Hold,
    ) -> Result<Advanced, FlowError> {
        // The flow changes below; the rules stay as they were when it started.
        let config = current.config.clone();
        let sms_countries = current.sms_countries.clone();
        let rules = Rules {
            config: &config,
            reveal_accounts: caller.reveal_accounts,
            sms_countries: &sms_countries,
        };
        let mut problem = None;
        let mut scratch = Scratch::default();
        for event in events.into_iter().take(MAX_EVENTS_PER_REQUEST) {
            let reaction = current.flow.handle(event, &rules)?;
            self.note_user(tenant, &mut current).await?;
            let mut effects: VecDeque<Effect> = reaction.effects.into();
            problem = reaction.problem;
            while let Some(effect) = effects.pop_front() {
                if hold == Hold::Codes && matches!(effect, Effect::SendCode { .. }) {
                    // The step waits without a code; its page offers to send one.
                    continue;
                }
                let outcome = self
                    .carry_out(tenant, &current, effect, caller, &mut scratch)
                    .await?;
                let reaction = current.flow.handle(outcome, &rules)?;
                self.note_user(tenant, &mut current).await?;
                effects.extend(reaction.effects);
                if reaction.problem.is_some() {
                    problem = reaction.problem;
                }
            }
            if problem.is_some() {
                break;
            }
        }
        if let Some(at) = scratch.signs_out_at {
            current.seen_sign_out = Some(at);
        }
        current.version += 1;
        let mut record = self.flow_record(tenant, &current)?;
        // Too many wrong second-factor codes end the flow: the person starts again. A finished
        // hosted-page flow is spent by the save that finishes it (the page completes it now);
        // a native one stays until the token endpoint redeems it.
        let finished_here = (current.flow.is_done() || current.flow.step == Step::Declined)
            && current.origin.native.is_none();
        if problem == Some(Problem::TooManyWrongCodes) || finished_here {
            record.spent_at = Some(self.now());
        }
        match self.store.save_flow(&record, &scratch.writes).await {
            Ok(()) => {}
            // Another flow committed first what this step relied on (the address of a
            // sign-up, the user's first second factor): this step did not happen, and the
            // next try hears why.
            Err(StoreError::Conflict(_)) => return Err(FlowError::Contended),
            Err(err) => return Err(err.into()),
        }
        let sign_ups = scratch
            .writes
            .iter()
            .filter(|w| matches!(w, FlowWrite::CreateUser(_)))
            .count();
        metrics::counter!("portico_sign_ups_total").increment(sign_ups as u64);
        if current.flow.is_done() {
            metrics::counter!("portico_flows_completed_total", "journey" => journey_label(current.flow.journey))
                .increment(1);
        }
        Ok(Advanced {
            flow: current,
            problem,
            recovery_codes: scratch.recovery_codes,
        })
    }

    /// Once the flow knows its user, remembers when that user was last signed out
    /// everywhere, so a new password or a disabled account meanwhile stops the flow
    /// ([`Portico::flow_user`]).
    async fn note_user(&self, tenant: &Tenant, current: &mut SignInFlow) -> Result<(), CoreError> {
        if current.seen_sign_out.is_none()
            && let Some(user) = &current.flow.user
        {
            let at = self.store.user_signed_out_at(tenant.id, user.id).await?;
            current.seen_sign_out = Some(at.unwrap_or(0));
        }
        Ok(())
    }

    /// Whether the code the flow waits for is stuck in the outbox (its provider failed at least
    /// once and a retry is pending), so the page can say so instead of leaving the person
    /// waiting. Only the newest message to the address counts: a later success clears it.
    pub async fn delivery_delayed(
        &self,
        tenant: &Tenant,
        flow: &SignInFlow,
    ) -> Result<bool, CoreError> {
        match flow.flow.code_recipient() {
            Some(recipient) => Ok(self.store.delivery_delayed(tenant.id, recipient).await?),
            None => Ok(false),
        }
    }

    /// Spends a finished flow: it is gone for every later request, and of two requests racing
    /// to spend it, one wins and the other gets [`FlowError::Contended`].
    pub async fn spend_flow(&self, tenant: &Tenant, mut flow: SignInFlow) -> Result<(), FlowError> {
        flow.version += 1;
        let mut record = self.flow_record(tenant, &flow)?;
        record.spent_at = Some(self.now());
        self.store.save_flow(&record, &[]).await?;
        Ok(())
    }

    /// The signed-in user of a finished flow (enabled, as of now), unless the user was
    /// signed out everywhere (a new password, a disabled account) after the flow began: a
    /// sign-in that proved the old password, or was under way when the account was disabled,
    /// does not finish. A reset finishes after the sign-out its own new password made (the
    /// flow saw it), and after no other.
    pub async fn flow_user(
        &self,
        tenant: &Tenant,
        flow: &SignInFlow,
    ) -> Result<Option<FlowUser>, CoreError> {
        let Some(facts) = flow.flow.user.as_ref().filter(|_| flow.flow.is_done()) else {
            return Ok(None);
        };
        let Some(user) = self
            .store
            .find_user(tenant.id, facts.id)
            .await?
            .filter(|user| user.enabled)
        else {
            return Ok(None);
        };
        let signed_out_at = self
            .store
            .user_signed_out_at(tenant.id, user.id)
            .await?
            .unwrap_or(0);
        if flow.seen_sign_out != Some(signed_out_at) {
            return Ok(None);
        }
        Ok(Some(FlowUser {
            user,
            signed_out_at,
        }))
    }

    fn flow_record(&self, tenant: &Tenant, flow: &SignInFlow) -> Result<FlowRecord, CoreError> {
        let state = serde_json::to_string(&Stored {
            flow: flow.flow.clone(),
            origin: flow.origin.clone(),
            config: flow.config.clone(),
            seen_sign_out: flow.seen_sign_out,
            sms_countries: flow.sms_countries.clone(),
        })
        .map_err(|e| CoreError::Internal(format!("flow state: {e}")))?;
        // What a person types is bounded at every step (attributes, addresses, numbers); this
        // is the backstop that keeps any flow record small.
        if state.len() > MAX_STATE_BYTES {
            return Err(CoreError::Invalid(
                "this sign-in holds too much data; start again".into(),
            ));
        }
        Ok(FlowRecord {
            id: flow.id,
            tenant_id: tenant.id,
            client_id: flow.client_id,
            state,
            version: flow.version,
            created_at: flow.created_at,
            expires_at: (self.now() + IDLE_SECS).min(flow.created_at + MAX_SECS),
            spent_at: None,
        })
    }
}
fn journey_label(journey: Journey) -> &'static str {
    match journey {
        Journey::SignIn => "sign_in",
        Journey::SignUp => "sign_up",
        Journey::ResetPassword => "reset_password",
    }
}
