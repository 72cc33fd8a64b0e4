//! Passkey sign-in. At the first step a discoverable passkey names its own account (no
//! address typed: the browser's autofill, a "sign in with a passkey" button); once an address
//! is given, only that account's passkeys count. A passkey whose authenticator verified the
//! person is two factors in one: it also passes the second factor a flow requires.

use super::machine::{effect, problem};
use super::{
    Effect, Event, FirstFactor, Flow, Journey, PasskeyProblem, Problem, Reaction, Rules, Step,
};
use crate::directory::{MfaMethod, SignInMethod};

impl Flow {
    /// The passkey transitions; `Err` hands other events to the main table, `Ok(None)` is an
    /// event this step does not take.
    pub(super) fn passkey(
        &mut self,
        event: Event,
        rules: &Rules<'_>,
    ) -> Result<Option<Reaction>, Event> {
        if matches!(
            self.step,
            Step::SecondFactor {
                kind: MfaMethod::Passkey,
                ..
            }
        ) {
            return self.passkey_second_factor(event);
        }
        let offered = self.journey == Journey::SignIn
            && rules.config.methods.contains(&SignInMethod::Passkey)
            && matches!(self.step, Step::Identify | Step::Password | Step::Passkey);
        // Once an address is given, the flow is for its account alone.
        let for_address = self.step != Step::Identify;
        match event {
            Event::Passkey {
                challenge_id,
                response,
                keep_signed_in,
            } if offered => {
                if !for_address {
                    self.keep_signed_in = keep_signed_in;
                }
                // An address without an account: the answer goes through the same check
                // (so neither time nor answer tells), and is then not recognised.
                let decoy = for_address && self.decoy;
                let user = match (for_address, self.user.as_ref()) {
                    (false, _) => None,
                    (true, Some(user)) => Some(user.id),
                    (true, None) if decoy => None,
                    (true, None) => return Ok(None),
                };
                Ok(Some(effect(Effect::CheckPasskey {
                    challenge_id,
                    response,
                    user,
                    decoy,
                })))
            }
            Event::PasskeyChecked(Ok(facts)) if offered => {
                if self.decoy
                    || for_address && self.user.as_ref().map(|u| u.id) != Some(facts.user.id)
                {
                    return Ok(None);
                }
                self.email = Some(facts.email);
                self.user = Some(facts.user);
                self.decoy = false;
                self.first_factor = Some(FirstFactor::Passkey {
                    user_verified: facts.user_verified,
                    hardware_bound: facts.hardware_bound,
                });
                if facts.user_verified {
                    self.mfa_done = true;
                }
                Ok(Some(self.after_first_factor(rules)))
            }
            // Once an address is given, every refusal reads alike (an expired ceremony, a
            // bad signature, another account's key), so none tells the account exists.
            Event::PasskeyChecked(Err(why)) if offered => {
                let told = match why {
                    PasskeyProblem::RateLimited => why,
                    _ if for_address => PasskeyProblem::NotRecognised,
                    _ => why,
                };
                Ok(Some(problem(Problem::Passkey(told))))
            }
            other => Err(other),
        }
    }

    /// A passkey as the second factor (after a password, say): the account's own, verified
    /// or not (it is the possession factor either way).
    fn passkey_second_factor(&mut self, event: Event) -> Result<Option<Reaction>, Event> {
        let Some(user) = self.user.as_ref().map(|u| u.id) else {
            return Ok(None);
        };
        match event {
            Event::Passkey {
                challenge_id,
                response,
                ..
            } => Ok(Some(effect(Effect::CheckPasskey {
                challenge_id,
                response,
                user: Some(user),
                decoy: false,
            }))),
            Event::PasskeyChecked(Ok(facts)) => {
                if facts.user.id != user {
                    return Ok(None);
                }
                self.mfa_done = true;
                self.second_factor = Some(MfaMethod::Passkey);
                Ok(Some(self.after_second_factor()))
            }
            Event::PasskeyChecked(Err(why)) => Ok(Some(problem(Problem::Passkey(why)))),
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests;
