//! The transitions. `Flow::handle` is the only way a flow changes.

use std::collections::BTreeMap;

use crate::directory::{
    AttributeError, AttributeSpec, Email, MfaMethod, MfaPolicy, SignInMethod, check_attributes,
    missing_required, sms_allowed,
};
use crate::otp::OtpPurpose;
use crate::outbox::Channel;

use super::{
    CodeCheck, CredentialProblem, Effect, Event, FirstFactor, Flow, Illegal, Journey,
    MAX_NUMBERS_PER_FLOW, MAX_WRONG_SECOND_FACTOR_CODES, MessageKind, PasswordProblem, Problem,
    Reaction, Rules, Step, normalize_phone,
};

use super::codes::{code_problem, send};

impl Flow {
    /// Applies one event. On `Ok` the flow may have moved and the reaction lists effects to
    /// carry out and the problem to show; on `Err` nothing changed (the event does not belong
    /// to this step).
    pub fn handle(&mut self, event: Event, rules: &Rules<'_>) -> Result<Reaction, Illegal> {
        let illegal = Illegal {
            step: self.step.name(),
            event: event.name(),
        };
        let mut next = self.clone();
        let reaction = next.apply(event, rules).ok_or(illegal.clone())?;
        // Whatever the table says, a flow only finishes for a real, enabled account that
        // passed every check the rules ask for; an effect result the engine never asked for
        // (a driver bug, a forged answer) cannot finish a decoy or skip the second factor.
        if next.is_done() && !next.may_finish(rules) {
            return Err(illegal);
        }
        *self = next;
        Ok(reaction)
    }

    fn may_finish(&self, rules: &Rules<'_>) -> bool {
        !self.decoy
            && self.user.as_ref().is_some_and(|u| u.enabled)
            && self.first_factor.is_some()
            && (rules.config.mfa != MfaPolicy::Required || self.mfa_done)
            && (self.journey != Journey::ResetPassword || self.password_hash.is_some())
            && self.consent.as_ref().is_none_or(|ask| ask.settled)
    }

    /// The transition table. `None`: illegal here.
    fn apply(&mut self, event: Event, rules: &Rules<'_>) -> Option<Reaction> {
        let config = rules.config;
        let event = match self.collection(event, rules) {
            Ok(reaction) => return reaction,
            Err(event) => event,
        };
        let event = match self.passkey(event, rules) {
            Ok(reaction) => return reaction,
            Err(event) => event,
        };
        match (self.step.clone(), event) {
            // Identify.
            (
                Step::Identify,
                Event::Identify {
                    email,
                    keep_signed_in,
                },
            ) => {
                if self.journey == Journey::SignUp && !config.sign_up {
                    return Some(problem(Problem::SignUpDisabled));
                }
                let Ok(email) = Email::parse(&email) else {
                    return Some(problem(Problem::InvalidEmail));
                };
                self.email = Some(email.as_str().to_owned());
                self.keep_signed_in = keep_signed_in;
                Some(effect(Effect::LookUpUser))
            }
            // Step-up from an SSO session: the first factor is proven; the second follows.
            (
                Step::Identify,
                Event::SessionFound {
                    user,
                    email,
                    first_factor,
                    second_factor,
                },
            ) if self.journey == Journey::SignIn => {
                self.email = Some(email);
                self.user = Some(user);
                self.first_factor = Some(first_factor);
                // A passkey that verified the person passed two factors at once.
                if matches!(
                    first_factor,
                    FirstFactor::Passkey {
                        user_verified: true,
                        ..
                    }
                ) {
                    self.mfa_done = true;
                }
                if let Some(kind) = second_factor.filter(|k| config.mfa_methods.contains(k)) {
                    self.mfa_done = true;
                    self.second_factor = Some(kind);
                }
                Some(self.after_first_factor(rules))
            }
            (Step::Identify, Event::UserLookedUp(found)) => {
                let email = self.email.clone()?;
                match (self.journey, found) {
                    (Journey::SignIn, None) if rules.reveal_accounts => {
                        Some(self.forget_email(Problem::UserNotFound))
                    }
                    (Journey::SignIn, found) => {
                        self.decoy = found.is_none();
                        self.user = found;
                        if config.methods.contains(&SignInMethod::Password) {
                            self.step = Step::Password;
                            Some(Reaction::default())
                        } else if config.methods.contains(&SignInMethod::EmailOtp) {
                            Some(self.start_sign_in_code(email))
                        } else {
                            self.step = Step::Passkey;
                            Some(Reaction::default())
                        }
                    }
                    (Journey::SignUp, Some(_)) if rules.reveal_accounts => {
                        Some(self.forget_email(Problem::UserExists))
                    }
                    (Journey::SignUp, found) => {
                        // A taken address goes on to a code step like any other; its owner is
                        // told someone tried, and no code that could work is sent.
                        self.decoy = found.is_some();
                        self.step = Step::VerifyEmail;
                        let message = if self.decoy {
                            MessageKind::AccountExists
                        } else {
                            MessageKind::Code
                        };
                        Some(send(OtpPurpose::SignUp, Channel::Mail, email, message))
                    }
                    (Journey::ResetPassword, None) if rules.reveal_accounts => {
                        Some(self.forget_email(Problem::UserNotFound))
                    }
                    (Journey::ResetPassword, found) => {
                        self.decoy = found.is_none();
                        self.user = found;
                        self.step = Step::ResetCode;
                        let message = if self.decoy {
                            MessageKind::NoAccount
                        } else {
                            MessageKind::Code
                        };
                        Some(send(
                            OtpPurpose::PasswordReset,
                            Channel::Mail,
                            email,
                            message,
                        ))
                    }
                }
            }

            // Sign-in with a password, or a switch to an emailed code.
            (Step::Password, Event::Password { password }) => {
                if password.is_empty() {
                    return Some(problem(Problem::Credentials(CredentialProblem::Invalid)));
                }
                Some(effect(Effect::CheckPassword { password }))
            }
            (Step::Password, Event::PasswordChecked(Ok(user))) => {
                self.user = Some(user);
                self.first_factor = Some(FirstFactor::Password);
                Some(self.after_first_factor(rules))
            }
            (Step::Password, Event::PasswordChecked(Err(why))) => {
                Some(problem(Problem::Credentials(why)))
            }
            // A flow without passwords goes straight from the address to the code, so the
            // "email me a code" button that sent the address finds the code already sent.
            (Step::SignInCode, Event::UseEmailCode) => Some(Reaction::default()),
            (Step::Password, Event::UseEmailCode)
                if config.methods.contains(&SignInMethod::EmailOtp) =>
            {
                let email = self.email.clone()?;
                Some(self.start_sign_in_code(email))
            }

            // Steps that wait for an emailed or texted code.
            (
                Step::SignInCode
                | Step::VerifyEmail
                | Step::ResetCode
                | Step::VerifyEnrolment { .. },
                Event::Code { code },
            ) => {
                let purpose = self.code_purpose()?;
                Some(effect(Effect::CheckCode { purpose, code }))
            }
            // A flow that took too many wrong second-factor codes takes no more.
            (Step::SecondFactor { .. }, Event::Code { .. } | Event::RecoveryCode { .. })
                if self.second_factor_failures >= MAX_WRONG_SECOND_FACTOR_CODES =>
            {
                Some(problem(Problem::TooManyWrongCodes))
            }
            (Step::SecondFactor { .. }, Event::CodeChecked(CodeCheck::Wrong { attempts_left })) => {
                self.second_factor_failures += 1;
                let left =
                    MAX_WRONG_SECOND_FACTOR_CODES.saturating_sub(self.second_factor_failures);
                if left == 0 {
                    return Some(problem(Problem::TooManyWrongCodes));
                }
                Some(problem(Problem::WrongCode {
                    attempts_left: Some(attempts_left.map_or(left, |code| code.min(left))),
                }))
            }
            (Step::SecondFactor { method, kind }, Event::Code { code }) => {
                Some(effect(match kind {
                    MfaMethod::Totp => Effect::CheckTotp { method, code },
                    MfaMethod::EmailOtp | MfaMethod::Sms => Effect::CheckCode {
                        purpose: OtpPurpose::Mfa,
                        code,
                    },
                    // A passkey answers with `Event::Passkey`, not a code.
                    MfaMethod::Passkey => return None,
                }))
            }
            (
                Step::SignInCode
                | Step::VerifyEmail
                | Step::ResetCode
                | Step::VerifyEnrolment { .. }
                | Step::SecondFactor { .. },
                Event::ResendCode,
            ) => self.resend(),
            (
                Step::SignInCode
                | Step::VerifyEmail
                | Step::ResetCode
                | Step::VerifyEnrolment { .. }
                | Step::SecondFactor { .. },
                Event::CodeSent(sent),
            ) => match sent {
                Ok(challenge) => {
                    self.challenge = Some(challenge);
                    Some(Reaction::default())
                }
                Err(retry_after_secs) => Some(problem(Problem::SendThrottled { retry_after_secs })),
            },
            (
                Step::SignInCode
                | Step::VerifyEmail
                | Step::ResetCode
                | Step::VerifyEnrolment { .. }
                | Step::SecondFactor { .. }
                | Step::EnrolTotp,
                Event::CodeChecked(check),
            ) => match check {
                CodeCheck::Valid => self.code_proven(rules),
                other => Some(problem(code_problem(other))),
            },

            // Sign-up and reset: the new password.
            (Step::NewPassword, Event::NewPassword { password }) => {
                Some(effect(Effect::CheckNewPassword { password }))
            }
            (Step::NewPassword, Event::NewPasswordChecked(Ok(hash))) => {
                self.password_hash = Some(hash);
                match self.journey {
                    Journey::SignUp => Some(self.next_sign_up_step(rules)),
                    Journey::ResetPassword => Some(effect(Effect::SetPassword)),
                    Journey::SignIn => None,
                }
            }
            (Step::NewPassword, Event::NewPasswordChecked(Err(why))) => {
                Some(problem(password_problem(why)))
            }
            // Sign-up through the native API: the password and attributes come with the address,
            // before it is proven. They are checked now and kept, so the steps that would ask
            // for them are skipped once the code is right.
            (Step::VerifyEmail, Event::NewPassword { password })
                if self.journey == Journey::SignUp
                    && config.methods.contains(&SignInMethod::Password) =>
            {
                Some(effect(Effect::CheckNewPassword { password }))
            }
            (Step::VerifyEmail, Event::NewPasswordChecked(checked))
                if self.journey == Journey::SignUp =>
            {
                match checked {
                    Ok(hash) => {
                        self.password_hash = Some(hash);
                        Some(Reaction::default())
                    }
                    Err(why) => Some(problem(password_problem(why))),
                }
            }
            (Step::VerifyEmail, Event::Attributes { values })
                if self.journey == Journey::SignUp =>
            {
                // Only what was sent is checked; the attributes step follows later only if a
                // required attribute is still missing.
                Some(match self.take_attributes(&config.attributes, &values) {
                    Ok(()) => {
                        self.attributes_done =
                            missing_required(&config.attributes, &self.attributes)
                                .next()
                                .is_none();
                        Reaction::default()
                    }
                    Err(errors) => problem(Problem::Attributes(errors)),
                })
            }
            (Step::NewPassword, Event::PasswordSet) if self.journey == Journey::ResetPassword => {
                // The second factor (if the flow asks for one) came before the new password.
                Some(self.after_first_factor(rules))
            }

            // Sign-up: attributes, then the account.
            (Step::Attributes, Event::Attributes { values }) => {
                match self.take_attributes(&config.attributes, &values) {
                    Ok(()) => {
                        self.attributes_done = true;
                        Some(self.next_sign_up_step(rules))
                    }
                    Err(errors) => Some(problem(Problem::Attributes(errors))),
                }
            }
            (
                Step::NewPassword | Step::Attributes | Step::VerifyEmail,
                Event::UserCreated(user),
            ) if self.journey == Journey::SignUp && self.collection_approved => {
                self.user = Some(user);
                self.first_factor = Some(FirstFactor::EmailCode);
                Some(self.after_first_factor(rules))
            }

            // Two sign-ups of one address raced and the other won. Whoever gets here proved
            // the mailbox, so telling them an account exists reveals nothing new.
            (Step::NewPassword | Step::Attributes | Step::VerifyEmail, Event::AddressTaken)
                if self.journey == Journey::SignUp =>
            {
                Some(problem(Problem::UserExists))
            }

            // MFA: the user's methods, then a challenge.
            (step, Event::MethodsLoaded(methods))
                if self.first_factor.is_some()
                    && !matches!(step, Step::Done | Step::Consent { .. } | Step::Declined) =>
            {
                self.methods = methods;
                Some(self.choose_second_factor(rules))
            }
            (
                Step::ChooseSecondFactor | Step::SecondFactor { .. },
                Event::ChooseMethod { method },
            ) => {
                let chosen = self.methods.iter().find(|m| m.id == method)?.clone();
                if !self.usable_second_factors(rules).contains(&chosen) {
                    return None;
                }
                Some(self.begin_second_factor(&chosen))
            }
            (Step::SecondFactor { .. }, Event::RecoveryCode { code }) => {
                Some(effect(Effect::CheckRecoveryCode { code }))
            }

            // Just-in-time registration.
            (
                Step::ChooseEnrolment
                | Step::EnrolPhone
                | Step::EnrolTotp
                | Step::EnrolPasskey
                | Step::VerifyEnrolment { .. },
                Event::Enrol { kind },
            ) => {
                if !self.enrolment_choices(rules).contains(&kind) {
                    return None;
                }
                Some(self.begin_enrolment(kind))
            }
            (Step::EnrolPhone, Event::Phone { number }) => {
                let Some(number) = normalize_phone(&number) else {
                    return Some(problem(Problem::InvalidPhone));
                };
                if !sms_allowed(rules.sms_countries, &number) {
                    return Some(problem(Problem::PhoneCountryNotAllowed));
                }
                // Each number costs a text: one flow cannot be a pump through many numbers.
                if !self.texted_numbers.contains(&number) {
                    if self.texted_numbers.len() >= MAX_NUMBERS_PER_FLOW {
                        return Some(problem(Problem::TooManyPhoneNumbers));
                    }
                    self.texted_numbers.push(number.clone());
                }
                self.step = Step::VerifyEnrolment {
                    kind: MfaMethod::Sms,
                    target: number.clone(),
                };
                Some(send(
                    OtpPurpose::VerifyContact,
                    Channel::Sms,
                    number,
                    MessageKind::Code,
                ))
            }
            (
                Step::VerifyEnrolment {
                    kind: MfaMethod::Sms,
                    target,
                },
                Event::NumberRefused,
            ) => {
                // Nothing went to that number, so it does not count against the flow.
                self.texted_numbers.retain(|n| *n != target);
                self.step = Step::EnrolPhone;
                self.challenge = None;
                Some(problem(Problem::TooManyPhoneNumbers))
            }
            (
                Step::EnrolPasskey,
                Event::PasskeyMade {
                    challenge_id,
                    response,
                },
            ) => Some(effect(Effect::AddPasskey {
                challenge_id,
                response,
            })),
            (Step::EnrolPasskey, Event::PasskeyRefused(why)) => {
                Some(problem(Problem::Passkey(why)))
            }
            (Step::EnrolTotp, Event::TotpSecretMade(sealed)) => {
                self.pending_totp = Some(sealed);
                Some(Reaction::default())
            }
            (Step::EnrolTotp, Event::Code { code }) if self.pending_totp.is_some() => {
                Some(effect(Effect::CheckPendingTotp { code }))
            }
            (
                Step::VerifyEnrolment { .. }
                | Step::EnrolTotp
                | Step::EnrolPasskey
                | Step::ChooseEnrolment,
                Event::MethodAdded {
                    method,
                    recovery_codes,
                },
            ) => {
                self.second_factor = Some(method.kind);
                self.methods.push(method);
                self.pending_totp = None;
                self.mfa_done = true;
                self.challenge = None;
                if recovery_codes {
                    self.step = Step::RecoveryCodes;
                    Some(Reaction::default())
                } else {
                    Some(self.after_second_factor())
                }
            }
            // The user registered a factor elsewhere while this flow, which has passed none,
            // was registering one: the factor they have must be passed instead.
            (
                Step::VerifyEnrolment { .. }
                | Step::EnrolTotp
                | Step::EnrolPasskey
                | Step::ChooseEnrolment,
                Event::MethodTaken,
            ) if !self.mfa_done => {
                self.pending_totp = None;
                self.challenge = None;
                Some(problem(Problem::NoSecondFactor))
            }
            (Step::RecoveryCodes, Event::Acknowledge) => Some(self.after_second_factor()),

            // Consent, once authenticated.
            (Step::Consent { .. }, Event::ConsentLoaded(missing)) => {
                let ask = self.consent.as_mut()?;
                if missing.is_empty() {
                    ask.settled = true;
                    self.step = Step::Done;
                } else {
                    self.step = Step::Consent { scopes: missing };
                }
                Some(Reaction::default())
            }
            (Step::Consent { scopes }, Event::Consent { accept: true }) => {
                Some(effect(Effect::RecordConsent { scopes }))
            }
            (Step::Consent { .. }, Event::Consent { accept: false }) => {
                self.step = Step::Declined;
                Some(Reaction::default())
            }
            (Step::Consent { .. }, Event::ConsentRecorded) => {
                self.consent.as_mut()?.settled = true;
                self.step = Step::Done;
                Some(Reaction::default())
            }

            _ => None,
        }
    }

    /// Checks that the rules allow sign-up and what a sign-up brings along with its address
    /// (the native API's `password` and `attributes`) as the flow will, without the store: so a front door can
    /// refuse bad details before a flow starts and a code goes out. The flow checks them again.
    pub fn check_sign_up_details(
        config: &crate::directory::UserFlowConfig,
        email: &str,
        password: Option<&str>,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), Problem> {
        if !config.sign_up {
            return Err(Problem::SignUpDisabled);
        }
        // A flow without passwords never takes one; the front door says so in its own words.
        if let Some(password) =
            password.filter(|_| config.methods.contains(&SignInMethod::Password))
        {
            crate::signin::check_new_password(password, Some(email)).map_err(Problem::Password)?;
        }
        let mut scratch = Flow::new(Journey::SignUp);
        scratch.step = Step::VerifyEmail;
        scratch
            .take_attributes(&config.attributes, attributes)
            .map_err(Problem::Attributes)
    }

    /// Checks submitted attribute values and adds them to those collected earlier. At the code
    /// step only what was sent is checked. At the attributes step an attribute collected
    /// earlier and not sent again keeps its value, and every other one is checked as sent (so
    /// a required one left out is refused).
    fn take_attributes(
        &mut self,
        specs: &[AttributeSpec],
        submitted: &BTreeMap<String, String>,
    ) -> Result<(), Vec<AttributeError>> {
        let asked: Vec<AttributeSpec> = specs
            .iter()
            .filter(|s| submitted.contains_key(&s.name) || !self.attributes.contains_key(&s.name))
            .filter(|s| self.step != Step::VerifyEmail || submitted.contains_key(&s.name))
            .cloned()
            .collect();
        let values = check_attributes(&asked, submitted)?;
        self.attributes.extend(values);
        Ok(())
    }

    fn forget_email(&mut self, why: Problem) -> Reaction {
        self.email = None;
        problem(why)
    }

    /// Sign-up: password (if the flow uses passwords), attributes (if it collects any), then
    /// the account.
    pub(super) fn next_sign_up_step(&mut self, rules: &Rules<'_>) -> Reaction {
        let config = rules.config;
        if config.methods.contains(&SignInMethod::Password) && self.password_hash.is_none() {
            self.step = Step::NewPassword;
            Reaction::default()
        } else if !self.collection_started {
            effect(Effect::StartAttributeCollection)
        } else if !config.attributes.is_empty() && !self.attributes_done {
            self.step = Step::Attributes;
            Reaction::default()
        } else if !self.collection_approved {
            effect(Effect::SubmitAttributes)
        } else {
            effect(Effect::CreateUser)
        }
    }

    /// The first factor is proven: MFA if the flow requires it, else done.
    pub(super) fn after_first_factor(&mut self, rules: &Rules<'_>) -> Reaction {
        if self.user.as_ref().is_some_and(|u| !u.enabled) {
            return problem(Problem::AccountDisabled);
        }
        if rules.config.mfa == MfaPolicy::Required && !self.mfa_done {
            effect(Effect::LoadMethods)
        } else {
            self.finish()
        }
    }

    /// Authenticated: done, or first the consent the flow must get.
    pub(super) fn finish(&mut self) -> Reaction {
        match &self.consent {
            Some(ask) if !ask.settled => {
                self.step = Step::Consent {
                    scopes: ask.scopes.clone(),
                };
                effect(Effect::LoadConsent)
            }
            _ => {
                self.step = Step::Done;
                Reaction::default()
            }
        }
    }
}

/// A refused new password as the front doors tell it: too many tries is the rate limit.
fn password_problem(why: PasswordProblem) -> Problem {
    match why {
        PasswordProblem::RateLimited => Problem::RateLimited,
        other => Problem::Password(other),
    }
}

pub(super) fn effect(effect: Effect) -> Reaction {
    Reaction {
        effects: vec![effect],
        problem: None,
    }
}

pub(super) fn problem(problem: Problem) -> Reaction {
    Reaction {
        effects: Vec::new(),
        problem: Some(problem),
    }
}
