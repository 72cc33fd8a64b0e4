//! A complete extension receiver: claims for tokens, sign-up checks, and one-time codes
//! printed instead of mailed.
//!
//! ```text
//! RECEIVER_ISSUER=https://id.example.com/{tenant}/v2.0 \
//! RECEIVER_AUDIENCE={resource app id} \
//! RECEIVER_LISTEN=127.0.0.1:7070 \
//! cargo run -p portico-claims --example receiver
//! ```
//! Then register it: `portico extension create --tenant T --name loyalty
//! --event token-issuance-start --target-url http://127.0.0.1:7070/claims
//! --resource-app-id {resource app id} --claim loyaltyTier --claim correlationId`.

use std::collections::BTreeMap;

use portico_claims::{
    ClaimsDecision, EventCommon, Handler, HandlerError, OtpAction, OtpContext, Receiver,
    SignUpInfo, SubmitAction, TokenValidator, TrustedIssuer,
};

struct Demo;

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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init();
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let issuer = var("RECEIVER_ISSUER")?;
    let audience = var("RECEIVER_AUDIENCE")?;
    let listen = std::env::var("RECEIVER_LISTEN").unwrap_or_else(|_| "127.0.0.1:7070".into());
    let validator = TokenValidator::new(vec![TrustedIssuer::new(issuer, audience)]);
    let app = Receiver::new(validator, Demo).router("/claims");
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("receiving on http://{listen}/claims");
    axum::serve(listener, app).await?;
    Ok(())
}
