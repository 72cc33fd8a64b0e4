//! The second factor in a flow: which registered methods may serve, which may be
//! registered, and starting a proof or a registration.

use crate::directory::{MfaMethod, sms_allowed};
use crate::otp::OtpPurpose;
use crate::outbox::Channel;

use super::codes::send;
use super::machine::{effect, problem};
use super::{
    Effect, FirstFactor, Flow, Journey, MessageKind, MethodFacts, Problem, Reaction, Rules, Step,
};

impl Flow {
    /// The second factor is proven (or registered): a reset goes on to its new password,
    /// everything else finishes.
    pub(super) fn after_second_factor(&mut self) -> Reaction {
        if self.journey == Journey::ResetPassword && self.password_hash.is_none() {
            self.step = Step::NewPassword;
            Reaction::default()
        } else {
            self.finish()
        }
    }

    /// Registered methods that may serve as this sign-in's second factor. An emailed code
    /// cannot be the second factor when the mailbox was the first.
    pub fn usable_second_factors(&self, rules: &Rules<'_>) -> Vec<MethodFacts> {
        self.methods
            .iter()
            .filter(|m| rules.config.mfa_methods.contains(&m.kind))
            .filter(|m| {
                m.kind != MfaMethod::EmailOtp || self.first_factor == Some(FirstFactor::Password)
            })
            // Nor a passkey when a passkey was the first (one possession, counted once).
            .filter(|m| {
                m.kind != MfaMethod::Passkey
                    || !matches!(self.first_factor, Some(FirstFactor::Passkey { .. }))
            })
            // A number the tenant no longer texts (its country was taken off) cannot serve.
            .filter(|m| {
                m.kind != MfaMethod::Sms
                    || m.target
                        .as_deref()
                        .is_some_and(|n| sms_allowed(rules.sms_countries, n))
            })
            .cloned()
            .collect()
    }

    /// Kinds the user may register now (same rule as above, with one addition: a new account
    /// made with a password may register the mailbox it just proved, so its later sign-ins
    /// take the password and then an emailed code, as Entra's "preverified" registration does).
    ///
    /// Only a user without any second factor may register one here: someone who has one
    /// factor must not add a factor of their own choosing to get past the one the user set up
    /// (say, their own phone with only the mailbox). A user whose factors cannot serve this
    /// sign-in is refused instead ([`Problem::NoSecondFactor`]).
    pub fn enrolment_choices(&self, rules: &Rules<'_>) -> Vec<MfaMethod> {
        if !self.methods.is_empty() && !self.mfa_done {
            return Vec::new();
        }
        let with_password = self.first_factor == Some(FirstFactor::Password)
            || (self.journey == Journey::SignUp && self.password_hash.is_some());
        rules
            .config
            .mfa_methods
            .iter()
            .copied()
            .filter(|k| *k != MfaMethod::EmailOtp || with_password)
            // A passkey as the second factor of a passkey sign-in would count one key twice.
            .filter(|k| {
                *k != MfaMethod::Passkey
                    || !matches!(self.first_factor, Some(FirstFactor::Passkey { .. }))
            })
            .collect()
    }

    pub(super) fn choose_second_factor(&mut self, rules: &Rules<'_>) -> Reaction {
        let usable = self.usable_second_factors(rules);
        match usable.as_slice() {
            [] => match self.enrolment_choices(rules).as_slice() {
                [] => problem(Problem::NoSecondFactor),
                [only] => self.begin_enrolment(*only),
                _ => {
                    self.step = Step::ChooseEnrolment;
                    Reaction::default()
                }
            },
            [only] => self.begin_second_factor(only),
            _ => {
                self.step = Step::ChooseSecondFactor;
                Reaction::default()
            }
        }
    }

    pub(super) fn begin_second_factor(&mut self, method: &MethodFacts) -> Reaction {
        self.step = Step::SecondFactor {
            method: method.id,
            kind: method.kind,
        };
        self.challenge = None;
        match (channel_of(method.kind), &method.target) {
            (Some(channel), Some(target)) => {
                send(OtpPurpose::Mfa, channel, target.clone(), MessageKind::Code)
            }
            _ => Reaction::default(),
        }
    }

    pub(super) fn begin_enrolment(&mut self, kind: MfaMethod) -> Reaction {
        self.challenge = None;
        self.pending_totp = None;
        match kind {
            MfaMethod::EmailOtp => {
                let Some(email) = self.email.clone() else {
                    return problem(Problem::NoSecondFactor);
                };
                if self.email_verified {
                    // Proven in this very flow: no second code ("preverified").
                    self.step = Step::ChooseEnrolment;
                    return effect(Effect::AddMethod {
                        kind,
                        target: Some(email),
                    });
                }
                self.step = Step::VerifyEnrolment {
                    kind,
                    target: email.clone(),
                };
                send(
                    OtpPurpose::VerifyContact,
                    Channel::Mail,
                    email,
                    MessageKind::Code,
                )
            }
            MfaMethod::Sms => {
                self.step = Step::EnrolPhone;
                Reaction::default()
            }
            MfaMethod::Totp => {
                self.step = Step::EnrolTotp;
                effect(Effect::MakeTotpSecret)
            }
            MfaMethod::Passkey => {
                self.step = Step::EnrolPasskey;
                Reaction::default()
            }
        }
    }
}

pub(super) fn channel_of(kind: MfaMethod) -> Option<Channel> {
    match kind {
        MfaMethod::EmailOtp => Some(Channel::Mail),
        MfaMethod::Sms => Some(Channel::Sms),
        MfaMethod::Totp | MfaMethod::Passkey => None,
    }
}
