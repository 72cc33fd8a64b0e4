//! The driver's effects: what the engine asks for (look a user up, check a password or a code,
//! send a code, prepare an account, a password or a factor), carried out against the store,
//! the outbox and the password pool, and answered as an event. Writes that a step makes are
//! not done here: they are collected in the request's [`Scratch`] and committed with the
//! flow's save.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::SignInError;
use super::engine::{
    CodeCheck, CredentialProblem, Effect, Event, MessageKind, MethodFacts, PasskeyFacts,
    PasskeyProblem, UserFacts,
};
use super::flows::{Caller, Scratch, SignInFlow};
use super::messages::{CodeMessage, compose};
use super::password_policy::{PASSWORD_HISTORY, check_new_password};
use super::second_factor::legacy_recovery_digest;
use crate::directory::{MfaMethod, Tenant, User};
use crate::ids::{AuthMethodId, UserId};
use crate::otp::{OtpCheck, OtpPurpose, OtpSendError};
use crate::outbox::Channel;
use crate::passkeys::PasskeyError;
use crate::store::{AuthMethodRecord, FlowWrite, NumberRegistration, SmsBudget, UserConsent};
use crate::{CoreError, Portico};

/// Wrong authenticator or recovery codes of one user in a day that lock the factor...
const DAILY_WRONG_SECOND_FACTOR_CODES: u32 = 10;
/// ...for this long after the newest.
const SECOND_FACTOR_LOCK_SECS: i64 = 3600;
/// New phone numbers one user may ask to register in a day.
const NEW_NUMBERS_PER_DAY: u32 = 5;
/// Texts one number may get in an hour, whatever they are for (per share of the budget).
const SMS_PER_NUMBER_PER_HOUR: u32 = 10;
/// Texts one block of 1,000 numbers may get in an hour.
const SMS_PER_BLOCK_PER_HOUR: u32 = 30;

impl Portico {
    /// Carries out one effect and returns its result as an event.
    pub(super) async fn carry_out(
        &self,
        tenant: &Tenant,
        current: &SignInFlow,
        effect: Effect,
        caller: Caller<'_>,
        scratch: &mut Scratch,
    ) -> Result<Event, CoreError> {
        let flow = &current.flow;
        let email = flow.email.clone().unwrap_or_default();
        let user_id = flow.user.as_ref().map(|u| u.id);
        // Second-factor checks share one limit per user and client address.
        let second_factor_check = matches!(
            effect,
            Effect::CheckTotp { .. }
                | Effect::CheckPendingTotp { .. }
                | Effect::CheckRecoveryCode { .. }
        );
        if second_factor_check
            && let Some(user) = user_id
            && !self
                .rate_limits
                .allow(tenant.id, caller.ip, &format!("mfa:{user}"))
        {
            return Ok(Event::CodeChecked(CodeCheck::RateLimited));
        }
        // Authenticator and recovery codes are counted per user in the store, across flows and
        // nodes: a lock after many wrong ones stops a guesser who starts flow after flow.
        let counted = matches!(
            effect,
            Effect::CheckTotp { .. } | Effect::CheckRecoveryCode { .. }
        )
        .then_some(user_id)
        .flatten();
        // The try is written down before its code is checked, so guesses sent in parallel
        // count against each other; a right code takes it back.
        let attempt = match counted {
            Some(user) => {
                let attempt = crate::secret::random_token()?;
                self.store
                    .add_second_factor_failure(tenant.id, user, &attempt, self.now())
                    .await?;
                if self.second_factor_locked(tenant, user, &attempt).await? {
                    self.store
                        .withdraw_second_factor_failure(tenant.id, &attempt)
                        .await?;
                    return Ok(Event::CodeChecked(CodeCheck::Locked));
                }
                Some(attempt)
            }
            None => None,
        };
        let event = match effect {
            Effect::LookUpUser => Event::UserLookedUp(
                self.store
                    .find_user_by_email(tenant.id, &email)
                    .await?
                    .map(|u| facts(&u)),
            ),
            Effect::CheckPassword { password } => Event::PasswordChecked(
                match self
                    .sign_in_with_password(tenant, current.client_id, &email, &password, caller.ip)
                    .await
                {
                    Ok(user) => Ok(facts(&user)),
                    Err(SignInError::InvalidCredentials) => Err(CredentialProblem::Invalid),
                    Err(SignInError::LockedOut { .. }) => Err(CredentialProblem::LockedOut),
                    Err(SignInError::AccountDisabled) => Err(CredentialProblem::Disabled),
                    Err(SignInError::RateLimited) => Err(CredentialProblem::RateLimited),
                    Err(SignInError::ResetRequired) => Err(CredentialProblem::ResetRequired),
                    Err(SignInError::Core(err)) => return Err(err),
                },
            ),
            Effect::CheckPasskey {
                challenge_id,
                response,
                user,
                decoy,
            } => Event::PasskeyChecked(
                match self
                    .check_passkey(tenant, current, caller, &challenge_id, &response, user)
                    .await?
                {
                    Ok(_) | Err(_) if decoy => Err(PasskeyProblem::NotRecognised),
                    checked => checked,
                },
            ),
            Effect::SendCode {
                purpose,
                channel,
                to,
                message,
            } => {
                // Per address and per client IP, on top of the per-address code throttle.
                if !self
                    .rate_limits
                    .allow(tenant.id, caller.ip, &format!("send:{to}"))
                {
                    return Ok(Event::CodeSent(Err(60)));
                }
                let letter = CodeMessage {
                    organisation: &tenant.name,
                    purpose,
                    channel,
                    to: &to,
                    kind: message,
                    lifetime_secs: self.settings.otp.lifetime_secs,
                };
                let sms_budget = if channel == Channel::Sms {
                    // The tenant's countries as they are now: a restriction made during an
                    // incident also stops flows that began before it (the engine applied the
                    // countries of the flow's start).
                    let countries = &self.tenant_settings(tenant.id).await?.sms_countries;
                    if !crate::directory::sms_allowed(countries, &to) {
                        return Ok(Event::CodeSent(Err(3600)));
                    }
                    Some(self.sms_budget(tenant, purpose, user_id, &to).await?)
                } else {
                    None
                };
                let request = crate::otp::OtpRequest {
                    purpose,
                    subject: &to,
                    requester: caller.ip,
                    reuse_recent: flow.challenge.is_none(),
                    sms_budget,
                };
                // Emailed codes go through the company's own service where an extension
                // serves this app (notices without a code still go by mail).
                let by_extension = if channel == Channel::Mail && message == MessageKind::Code {
                    self.send_code_by_extension(tenant, current.client_id, request, |code| {
                        compose(caller.texts, letter, code)
                    })
                    .await
                    .transpose()
                } else {
                    None
                };
                let sent = match by_extension {
                    Some(sent) => sent,
                    None => {
                        self.issue_otp(tenant, request, |code| compose(caller.texts, letter, code))
                            .await
                    }
                };
                Event::CodeSent(match sent {
                    Ok(challenge) => Ok(challenge),
                    Err(OtpSendError::Throttled { retry_after_secs }) => Err(retry_after_secs),
                    Err(OtpSendError::TooManyNumbers) => return Ok(Event::NumberRefused),
                    Err(OtpSendError::Core(err)) => return Err(err),
                })
            }
            Effect::CheckCode { purpose, code } => {
                let subject = flow.email.as_deref().unwrap_or("-");
                if !self.rate_limits.allow(tenant.id, caller.ip, subject) {
                    return Ok(Event::CodeChecked(CodeCheck::RateLimited));
                }
                let Some(challenge) = flow.challenge else {
                    return Ok(Event::CodeChecked(CodeCheck::Dead));
                };
                Event::CodeChecked(
                    match self.check_otp(tenant, challenge, purpose, &code).await? {
                        OtpCheck::Valid => CodeCheck::Valid,
                        OtpCheck::Wrong { attempts_left } => CodeCheck::Wrong {
                            attempts_left: Some(attempts_left),
                        },
                        OtpCheck::Expired => CodeCheck::Expired,
                        OtpCheck::Exhausted | OtpCheck::Unknown => CodeCheck::Dead,
                    },
                )
            }
            Effect::CheckTotp { method, code } => {
                let user = user_id.ok_or_else(|| missing("user"))?;
                Event::CodeChecked(
                    self.check_registered_totp(tenant, user, method, &code)
                        .await?,
                )
            }
            Effect::CheckPendingTotp { code } => {
                let user = user_id.ok_or_else(|| missing("user"))?;
                let sealed = pending_secret(flow.pending_totp.as_deref())?;
                scratch.totp_step = self.check_totp_code(tenant, user, &sealed, &code)?;
                Event::CodeChecked(match scratch.totp_step {
                    Some(_) => CodeCheck::Valid,
                    None => CodeCheck::Wrong {
                        attempts_left: None,
                    },
                })
            }
            Effect::CheckRecoveryCode { code } => {
                let user = user_id.ok_or_else(|| missing("user"))?;
                let now = self.now();
                let spent = self
                    .store
                    .use_recovery_code(tenant.id, user, &self.recovery_digest(&code), now)
                    .await?
                    || self
                        .store
                        .use_recovery_code(tenant.id, user, &legacy_recovery_digest(&code), now)
                        .await?;
                Event::CodeChecked(if spent {
                    CodeCheck::Valid
                } else {
                    CodeCheck::Wrong {
                        attempts_left: None,
                    }
                })
            }
            Effect::CheckNewPassword { password } => {
                // Each try costs several hashes (history, then the new one): limited like a
                // sign-in, per client and per account, once the mailbox is proven. Before
                // that (a sign-up's password, sent with the address), per flow: whoever
                // types someone else's address must not use up that person's tries.
                let key = if flow.email_verified {
                    format!("new-password:{email}")
                } else {
                    format!("new-password-flow:{}", current.id)
                };
                if !self.rate_limits.allow(tenant.id, caller.ip, &key) {
                    return Ok(Event::NewPasswordChecked(Err(
                        super::engine::PasswordProblem::RateLimited,
                    )));
                }
                Event::NewPasswordChecked(
                    self.check_and_hash_new_password(tenant, user_id, &email, password)
                        .await?,
                )
            }
            Effect::CreateUser => {
                // The account is written with the flow's save; a sign-up of the same address
                // that commits in between undoes this step there (a unique key).
                if self
                    .store
                    .find_user_by_email(tenant.id, &email)
                    .await?
                    .is_some()
                {
                    return Ok(Event::AddressTaken);
                }
                let display_name = flow
                    .attributes
                    .get("displayName")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                let user = User {
                    id: UserId::new_random(),
                    tenant_id: tenant.id,
                    email: email.clone(),
                    display_name,
                    password_hash: flow.password_hash.clone(),
                    password_in_legacy_store: false,
                    enabled: true,
                    attributes: flow.attributes.clone(),
                    created_at: self.now(),
                };
                let created = Event::UserCreated(facts(&user));
                scratch.writes.push(FlowWrite::CreateUser(user));
                created
            }
            Effect::SetPassword => {
                let user = user_id.ok_or_else(|| missing("user"))?;
                let password_hash = flow
                    .password_hash
                    .clone()
                    .ok_or_else(|| missing("password"))?;
                let now = self.now();
                let seen_sign_out = current.seen_sign_out.unwrap_or(0);
                let signs_out_at = now.max(seen_sign_out + 1);
                scratch.signs_out_at = Some(signs_out_at);
                scratch.writes.push(FlowWrite::SetPassword {
                    user,
                    password_hash,
                    keep: PASSWORD_HISTORY,
                    now,
                    seen_sign_out,
                    signs_out_at,
                });
                Event::PasswordSet
            }
            Effect::LoadMethods => {
                let user = user_id.ok_or_else(|| missing("user"))?;
                let mut methods: Vec<MethodFacts> = self
                    .store
                    .auth_methods(tenant.id, user)
                    .await?
                    .iter()
                    .map(method_facts)
                    .collect();
                // Where the flow takes passkeys as the second factor, the user's passkeys are
                // one (any of them answers), named by the user's id, which is theirs alone.
                if current.config.mfa_methods.contains(&MfaMethod::Passkey)
                    && self.has_passkeys(tenant, user).await?
                {
                    methods.push(MethodFacts {
                        id: AuthMethodId(user.0),
                        kind: MfaMethod::Passkey,
                        target: None,
                    });
                }
                Event::MethodsLoaded(methods)
            }
            Effect::MakeTotpSecret => {
                let user = user_id.ok_or_else(|| missing("user"))?;
                Event::TotpSecretMade(self.new_totp_secret(tenant, user)?)
            }
            Effect::AddMethod { kind, target } => {
                let user = user_id.ok_or_else(|| missing("user"))?;
                let sealed_secret = match kind {
                    MfaMethod::Totp => Some(pending_secret(flow.pending_totp.as_deref())?),
                    _ => None,
                };
                let record = AuthMethodRecord {
                    id: AuthMethodId::new_random(),
                    tenant_id: tenant.id,
                    user_id: user,
                    kind,
                    target,
                    sealed_secret,
                    created_at: self.now(),
                };
                // The first second factor comes with recovery codes, for the day it is lost.
                // Not through the native API: its contract has no way to show them, and codes
                // nobody saw would only be a secret left lying around.
                let has_none = self.store.auth_methods(tenant.id, user).await?.is_empty();
                // Registering without having passed a second factor is only for a user who has
                // none, now: not one who registered a factor in another flow meanwhile.
                let unproven = !flow.mfa_done;
                if unproven && !has_none {
                    return Ok(Event::MethodTaken);
                }
                let first = current.origin.native.is_none() && has_none;
                let (codes, digests) = if first {
                    self.new_recovery_codes()?
                } else {
                    (Vec::new(), Vec::new())
                };
                let method = method_facts(&record);
                scratch.writes.push(FlowWrite::AddMethod {
                    method: record,
                    only_if_none: unproven,
                    recovery_digests: digests,
                    // The code that proved the new app is spent like any later one.
                    totp_step: scratch.totp_step.take(),
                });
                scratch.recovery_codes = codes;
                Event::MethodAdded {
                    method,
                    recovery_codes: first,
                }
            }
            Effect::AddPasskey {
                challenge_id,
                response,
            } => {
                let user = user_id.ok_or_else(|| missing("user"))?;
                // As for any factor registered without passing one: only while the user
                // still has none (no second factor, no passkey).
                let unproven = !flow.mfa_done;
                if unproven
                    && (!self.store.auth_methods(tenant.id, user).await?.is_empty()
                        || self.has_passkeys(tenant, user).await?)
                {
                    return Ok(Event::MethodTaken);
                }
                let account = self
                    .store
                    .find_user(tenant.id, user)
                    .await?
                    .ok_or_else(|| missing("user"))?;
                match self
                    .finish_passkey_registration(
                        tenant,
                        &account,
                        &current.passkey_binding(),
                        &challenge_id,
                        &response,
                        None,
                    )
                    .await
                {
                    Ok(_) => Event::MethodAdded {
                        method: MethodFacts {
                            id: AuthMethodId(user.0),
                            kind: MfaMethod::Passkey,
                            target: None,
                        },
                        recovery_codes: false,
                    },
                    Err(PasskeyError::Core(err)) => return Err(err),
                    Err(PasskeyError::ChallengeGone) => {
                        Event::PasskeyRefused(PasskeyProblem::Expired)
                    }
                    Err(other) => {
                        tracing::info!(tenant = %tenant.id, error = %other, "passkey registration refused");
                        Event::PasskeyRefused(PasskeyProblem::Refused)
                    }
                }
            }
            Effect::LoadConsent => {
                let user = user_id.ok_or_else(|| missing("user"))?;
                let client = current.client_id.ok_or_else(|| missing("client"))?;
                let ask = flow.consent.as_ref().ok_or_else(|| missing("consent"))?;
                Event::ConsentLoaded(self.unconsented(tenant, client, user, ask).await?)
            }
            Effect::RecordConsent { scopes } => {
                let user = user_id.ok_or_else(|| missing("user"))?;
                let client_id = current.client_id.ok_or_else(|| missing("client"))?;
                let ask = flow.consent.as_ref().ok_or_else(|| missing("consent"))?;
                let api = ask.api;
                let now = self.now();
                scratch.writes.push(FlowWrite::Consent(
                    scopes
                        .into_iter()
                        .filter(|scope| !ask.granted.contains(scope))
                        .map(|scope| UserConsent {
                            tenant_id: tenant.id,
                            user_id: user,
                            client_id,
                            api_client_id: api,
                            scope,
                            created_at: now,
                        })
                        .collect(),
                ));
                Event::ConsentRecorded
            }
            Effect::StartAttributeCollection => Event::CollectionStarted(
                self.attribute_collection_start(tenant, current, caller.ip)
                    .await?,
            ),
            Effect::SubmitAttributes => Event::AttributesReviewed(
                self.attribute_collection_submit(tenant, current, caller.ip)
                    .await?,
            ),
        };
        if let Some(attempt) = attempt
            && !matches!(event, Event::CodeChecked(CodeCheck::Wrong { .. }))
        {
            self.store
                .withdraw_second_factor_failure(tenant.id, &attempt)
                .await?;
        }
        Ok(event)
    }

    /// The limits on a text to `to`. A text goes to a new number when it registers one, or
    /// when the number was registered less than a day ago (or is not the user's at all): such
    /// texts share half the tenant's budget, since an attacker can make accounts and register
    /// numbers at will, then sign in again and again to text them.
    async fn sms_budget(
        &self,
        tenant: &Tenant,
        purpose: OtpPurpose,
        user: Option<UserId>,
        to: &str,
    ) -> Result<SmsBudget, CoreError> {
        let now = self.now();
        let day_ago = now - 24 * 3600;
        let registers = (purpose == OtpPurpose::VerifyContact)
            .then_some(user)
            .flatten();
        let to_new_number = match user {
            Some(user) if registers.is_none() => !self
                .store
                .auth_methods(tenant.id, user)
                .await?
                .iter()
                .any(|m| {
                    m.kind == MfaMethod::Sms
                        && m.target.as_deref() == Some(to)
                        && m.created_at <= day_ago
                }),
            _ => true,
        };
        let texts = self.settings.sms_per_tenant_per_hour;
        Ok(SmsBudget {
            since: now - 3600,
            texts,
            // Never none: a budget of one still lets a number be registered.
            new_numbers: (texts / 2).max(1),
            to_new_number,
            per_number: SMS_PER_NUMBER_PER_HOUR,
            per_block: SMS_PER_BLOCK_PER_HOUR,
            registers: registers.map(|user| NumberRegistration {
                user,
                since: day_ago,
                numbers: NEW_NUMBERS_PER_DAY,
            }),
        })
    }

    /// Whether `user` entered so many wrong second-factor codes lately that the factor is
    /// locked: [`DAILY_WRONG_SECOND_FACTOR_CODES`] in a day lock it until
    /// [`SECOND_FACTOR_LOCK_SECS`] after the newest (each later wrong code starts it again).
    /// Tries in progress elsewhere count (all but `attempt`, this one), so a burst of parallel
    /// guesses locks itself out instead of slipping past the count.
    async fn second_factor_locked(
        &self,
        tenant: &Tenant,
        user: UserId,
        attempt: &str,
    ) -> Result<bool, CoreError> {
        let now = self.now();
        let (failures, newest) = self
            .store
            .second_factor_failures(tenant.id, user, now - 24 * 3600, attempt)
            .await?;
        Ok(failures >= DAILY_WRONG_SECOND_FACTOR_CODES
            && newest.is_some_and(|at| at + SECOND_FACTOR_LOCK_SECS > now))
    }

    async fn check_registered_totp(
        &self,
        tenant: &Tenant,
        user: UserId,
        method: AuthMethodId,
        code: &str,
    ) -> Result<CodeCheck, CoreError> {
        let methods = self.store.auth_methods(tenant.id, user).await?;
        let Some(sealed) = methods
            .into_iter()
            .find(|m| m.id == method)
            .and_then(|m| m.sealed_secret)
        else {
            return Ok(CodeCheck::Dead);
        };
        let wrong = CodeCheck::Wrong {
            attempts_left: None,
        };
        let Some(step) = self.check_totp_code(tenant, user, &sealed, code)? else {
            return Ok(wrong);
        };
        // Each time step's code works once (RFC 6238 §5.2): a replayed code is wrong.
        Ok(
            if self.store.use_totp_step(tenant.id, method, step).await? {
                CodeCheck::Valid
            } else {
                wrong
            },
        )
    }

    /// The policy, then the account's current and recent passwords, then the hash.
    async fn check_and_hash_new_password(
        &self,
        tenant: &Tenant,
        user: Option<UserId>,
        email: &str,
        password: String,
    ) -> Result<Result<String, super::engine::PasswordProblem>, CoreError> {
        if let Err(problem) = check_new_password(&password, Some(email)) {
            return Ok(Err(problem));
        }
        if let Some(user) = user {
            let mut earlier = self.store.password_history(tenant.id, user).await?;
            if let Some(current) = self
                .store
                .find_user(tenant.id, user)
                .await?
                .and_then(|u| u.password_hash)
            {
                earlier.insert(0, current);
            }
            for hash in earlier {
                if self.passwords.verify(password.clone(), Some(hash)).await? {
                    return Ok(Err(super::engine::PasswordProblem::RecentlyUsed));
                }
            }
        }
        Ok(Ok(self.passwords.hash(password).await?))
    }
}

impl Portico {
    /// Verifies a passkey's answer to the ceremony the front door started for `current`,
    /// and whose account it is (`user`: only that account's passkeys count).
    async fn check_passkey(
        &self,
        tenant: &Tenant,
        current: &SignInFlow,
        caller: Caller<'_>,
        challenge_id: &str,
        response: &str,
        user: Option<UserId>,
    ) -> Result<Result<PasskeyFacts, PasskeyProblem>, CoreError> {
        // A signature cannot be guessed, but each check costs a verification: per client
        // network, and per credential (never one bucket a stranger could drain for all).
        let credential = crate::passkeys::assertion_of(response)
            .map(|a| crate::passkeys::credential_id(&a))
            .unwrap_or_default();
        if !self
            .rate_limits
            .allow(tenant.id, caller.ip, &format!("passkey:{credential}"))
        {
            return Ok(Err(PasskeyProblem::RateLimited));
        }
        let binding = current.passkey_binding();
        let assertion = match self
            .finish_passkey_sign_in(tenant, &binding, challenge_id, response)
            .await
        {
            Ok(assertion) => assertion,
            Err(PasskeyError::Core(err)) => return Err(err),
            Err(PasskeyError::ChallengeGone) => return Ok(Err(PasskeyProblem::Expired)),
            Err(PasskeyError::UnknownCredential) => {
                return Ok(Err(PasskeyProblem::NotRecognised));
            }
            Err(other) => {
                tracing::info!(tenant = %tenant.id, error = %other, "passkey refused");
                return Ok(Err(PasskeyProblem::Refused));
            }
        };
        if user.is_some_and(|expected| expected != assertion.user_id) {
            return Ok(Err(PasskeyProblem::NotRecognised));
        }
        let Some(found) = self.store.find_user(tenant.id, assertion.user_id).await? else {
            return Ok(Err(PasskeyProblem::NotRecognised));
        };
        Ok(Ok(PasskeyFacts {
            user: facts(&found),
            email: found.email.clone(),
            user_verified: assertion.user_verified,
            hardware_bound: assertion.hardware_bound,
        }))
    }
}

pub(super) fn facts(user: &User) -> UserFacts {
    UserFacts {
        id: user.id,
        enabled: user.enabled,
        has_password: user.password_hash.is_some(),
    }
}

fn method_facts(record: &AuthMethodRecord) -> MethodFacts {
    MethodFacts {
        id: record.id,
        kind: record.kind,
        target: record.target.clone(),
    }
}

fn pending_secret(sealed: Option<&str>) -> Result<Vec<u8>, CoreError> {
    sealed
        .and_then(|s| STANDARD.decode(s).ok())
        .ok_or_else(|| missing("pending authenticator secret"))
}

fn missing(what: &str) -> CoreError {
    CoreError::Internal(format!("flow has no {what} at this step"))
}
