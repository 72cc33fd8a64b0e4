//! Sign-up's attribute collection as custom authentication extensions see it: asked once
//! before the attributes page (prefill, or block), and once more with the collected
//! attributes before the account is made (change them, refuse them with messages of its
//! own, or block). Where no extension serves the flow, the driver answers `Continue` and the
//! sign-up goes on as before.

use super::machine::problem;
use super::{
    AttributeReview, CollectionStart, Event, Flow, Journey, Problem, Reaction, Rules, Step,
};
use crate::directory::BUILT_IN_ATTRIBUTES;

impl Flow {
    /// The attribute-collection transitions; `Err` gives back an event they do not take.
    pub(super) fn collection(
        &mut self,
        event: Event,
        rules: &Rules<'_>,
    ) -> Result<Option<Reaction>, Event> {
        let signing_up = self.journey == Journey::SignUp
            && matches!(
                self.step,
                Step::NewPassword | Step::Attributes | Step::VerifyEmail
            );
        match event {
            Event::CollectionStarted(start) if signing_up && !self.collection_started => {
                self.collection_started = true;
                Ok(Some(match start {
                    CollectionStart::Continue => self.next_sign_up_step(rules),
                    CollectionStart::Prefill(values) => {
                        // Only the flow's own attributes: an extension cannot add fields.
                        self.prefill = values
                            .into_iter()
                            .filter(|(name, _)| {
                                rules.config.attributes.iter().any(|a| &a.name == name)
                            })
                            .collect();
                        self.next_sign_up_step(rules)
                    }
                    CollectionStart::Block(message) => self.block(message),
                }))
            }
            Event::AttributesReviewed(review)
                if signing_up && self.collection_started && !self.collection_approved =>
            {
                Ok(Some(match review {
                    AttributeReview::Continue => {
                        self.collection_approved = true;
                        self.next_sign_up_step(rules)
                    }
                    AttributeReview::Modify(values) => {
                        // The flow's attributes and Entra's built-in ones; anything else is
                        // ignored, as Entra ignores attributes outside the collection.
                        for (name, value) in values {
                            let known = rules.config.attributes.iter().any(|a| a.name == name)
                                || BUILT_IN_ATTRIBUTES.contains(&name.as_str());
                            if known && !value.is_null() {
                                self.attributes.insert(name, value);
                            }
                        }
                        self.collection_approved = true;
                        self.next_sign_up_step(rules)
                    }
                    AttributeReview::Refuse { message, errors } => {
                        // Back to the attributes, with the extension's words.
                        self.attributes_done = false;
                        self.step = Step::Attributes;
                        problem(Problem::AttributesRefused { message, errors })
                    }
                    AttributeReview::Block(message) => self.block(message),
                }))
            }
            other => Err(other),
        }
    }

    fn block(&mut self, message: Option<String>) -> Reaction {
        self.step = Step::Blocked { message };
        Reaction::default()
    }
}

#[cfg(test)]
mod tests;
