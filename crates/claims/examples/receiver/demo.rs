//! The example receiver's rules (the integration tests call a receiver with these very
//! rules): a loyalty tier by email domain, the sign-in's correlation id, a list of
//! favourites and a member-since date for tokens; postal codes of digits only at sign-up;
//! one-time codes printed instead of mailed.

use std::collections::BTreeMap;

use portico_claims::{
    ClaimsDecision, EventCommon, Handler, HandlerError, OtpAction, OtpContext, SignUpInfo,
    SubmitAction,
};

/// The example's handler.
pub struct Demo;

#[async_trait::async_trait]
impl Handler for Demo {
    async fn token_issuance_start(
        &self,
        event: &EventCommon,
    ) -> Result<ClaimsDecision, HandlerError> {
        let context = &event.authentication_context;
        let mut claims = BTreeMap::new();
        claims.insert(
            "correlationId".to_owned(),
            context.correlation_id.clone().into(),
        );
        let tier = match context.user.as_ref().and_then(|u| u.mail.as_deref()) {
            Some(mail) if mail.ends_with("@example.com") => "gold",
            Some(_) => "silver",
            None => "service",
        };
        claims.insert("loyaltyTier".to_owned(), tier.into());
        claims.insert(
            "favourites".to_owned(),
            vec!["tea".to_owned(), "scones".to_owned()].into(),
        );
        claims.insert("memberSince".to_owned(), "2019-04-01".into());
        Ok(ClaimsDecision::Allow(claims))
    }

    async fn attribute_collection_submit(
        &self,
        _event: &EventCommon,
        sign_up: &SignUpInfo,
    ) -> Result<SubmitAction, HandlerError> {
        let postal = sign_up
            .attributes
            .get("postalCode")
            .and_then(|a| a.value.as_str());
        Ok(match postal {
            Some(code) if !code.chars().all(|c| c.is_ascii_digit()) => {
                SubmitAction::ValidationError {
                    message: "Please check what you entered.".into(),
                    attribute_errors: BTreeMap::from([(
                        "postalCode".to_owned(),
                        "A postal code has digits only.".to_owned(),
                    )]),
                }
            }
            _ => SubmitAction::Continue,
        })
    }

    async fn otp_send(
        &self,
        _event: &EventCommon,
        otp: &OtpContext,
    ) -> Result<OtpAction, HandlerError> {
        println!("code for {}: {}", otp.identifier, otp.one_time_code);
        Ok(OtpAction::Sent)
    }
}
