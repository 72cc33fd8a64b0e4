//! One-time codes in a flow: which step wants one, sending and resending it, and where a
//! right code leads.

use crate::directory::{MfaMethod, MfaPolicy};
use crate::otp::OtpPurpose;
use crate::outbox::Channel;

use super::machine::{effect, problem};
use super::second_factor::channel_of;
use super::{CodeCheck, Effect, FirstFactor, Flow, MessageKind, Problem, Reaction, Rules, Step};

impl Flow {
    /// Sign-in by emailed code (a notice instead, for an address without an account).
    pub(super) fn start_sign_in_code(&mut self, email: String) -> Reaction {
        self.step = Step::SignInCode;
        self.challenge = None;
        let message = if self.user.is_some() {
            MessageKind::Code
        } else {
            MessageKind::NoAccount
        };
        self.decoy = self.user.is_none();
        send(OtpPurpose::SignIn, Channel::Mail, email, message)
    }

    /// What the current step's code is for.
    pub(super) fn code_purpose(&self) -> Option<OtpPurpose> {
        match self.step {
            Step::SignInCode => Some(OtpPurpose::SignIn),
            Step::VerifyEmail => Some(OtpPurpose::SignUp),
            Step::ResetCode => Some(OtpPurpose::PasswordReset),
            Step::VerifyEnrolment { .. } => Some(OtpPurpose::VerifyContact),
            Step::SecondFactor { .. } => Some(OtpPurpose::Mfa),
            _ => None,
        }
    }

    /// Sends the current step's code again (the previous one stops working).
    pub(super) fn resend(&mut self) -> Option<Reaction> {
        let email = self.email.clone();
        match &self.step {
            Step::SignInCode => {
                let message = if self.decoy {
                    MessageKind::NoAccount
                } else {
                    MessageKind::Code
                };
                Some(send(OtpPurpose::SignIn, Channel::Mail, email?, message))
            }
            Step::VerifyEmail => {
                let message = if self.decoy {
                    MessageKind::AccountExists
                } else {
                    MessageKind::Code
                };
                Some(send(OtpPurpose::SignUp, Channel::Mail, email?, message))
            }
            Step::ResetCode => {
                let message = if self.decoy {
                    MessageKind::NoAccount
                } else {
                    MessageKind::Code
                };
                Some(send(
                    OtpPurpose::PasswordReset,
                    Channel::Mail,
                    email?,
                    message,
                ))
            }
            Step::VerifyEnrolment { kind, target } => Some(send(
                OtpPurpose::VerifyContact,
                channel_of(*kind)?,
                target.clone(),
                MessageKind::Code,
            )),
            Step::SecondFactor { method, .. } => {
                let method = self.methods.iter().find(|m| m.id == *method)?;
                Some(send(
                    OtpPurpose::Mfa,
                    channel_of(method.kind)?,
                    method.target.clone()?,
                    MessageKind::Code,
                ))
            }
            _ => None,
        }
    }

    /// The current step's code was right.
    pub(super) fn code_proven(&mut self, rules: &Rules<'_>) -> Option<Reaction> {
        self.challenge = None;
        match self.step.clone() {
            Step::SignInCode => {
                self.email_verified = true;
                self.first_factor = Some(FirstFactor::EmailCode);
                Some(self.after_first_factor(rules))
            }
            Step::VerifyEmail => {
                self.email_verified = true;
                Some(self.next_sign_up_step(rules))
            }
            Step::ResetCode => {
                self.email_verified = true;
                // A disabled account keeps its password: the reset would lead nowhere, and the
                // person has just proved the mailbox, so saying why reveals nothing.
                if self.user.as_ref().is_some_and(|u| !u.enabled) {
                    return Some(problem(Problem::AccountDisabled));
                }
                // The mailbox is the first factor. Where the flow asks for a second one, it
                // comes before anything changes: nobody with the mailbox alone sets a password.
                self.first_factor = Some(FirstFactor::EmailCode);
                if rules.config.mfa == MfaPolicy::Required {
                    return Some(effect(Effect::LoadMethods));
                }
                self.step = Step::NewPassword;
                Some(Reaction::default())
            }
            Step::VerifyEnrolment { kind, target } => Some(effect(Effect::AddMethod {
                kind,
                target: Some(target),
            })),
            Step::EnrolTotp => Some(effect(Effect::AddMethod {
                kind: MfaMethod::Totp,
                target: None,
            })),
            Step::SecondFactor { kind, .. } => {
                self.mfa_done = true;
                self.second_factor = Some(kind);
                Some(self.after_second_factor())
            }
            _ => None,
        }
    }
}

pub(super) fn code_problem(check: CodeCheck) -> Problem {
    match check {
        CodeCheck::Wrong { attempts_left } => Problem::WrongCode { attempts_left },
        CodeCheck::Expired => Problem::CodeExpired,
        CodeCheck::Dead => Problem::CodeDead,
        CodeCheck::Locked => Problem::SecondFactorLocked,
        CodeCheck::RateLimited | CodeCheck::Valid => Problem::RateLimited,
    }
}

pub(super) fn send(
    purpose: OtpPurpose,
    channel: Channel,
    to: String,
    message: MessageKind,
) -> Reaction {
    effect(Effect::SendCode {
        purpose,
        channel,
        to,
        message,
    })
}
