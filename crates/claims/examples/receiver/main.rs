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

mod demo;

use portico_claims::{Receiver, TokenValidator, TrustedIssuer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init();
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let issuer = var("RECEIVER_ISSUER")?;
    let audience = var("RECEIVER_AUDIENCE")?;
    let listen = std::env::var("RECEIVER_LISTEN").unwrap_or_else(|_| "127.0.0.1:7070".into());
    let validator = TokenValidator::new(vec![TrustedIssuer::new(issuer, audience)]);
    let app = Receiver::new(validator, demo::Demo).router("/claims");
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("receiving on http://{listen}/claims");
    axum::serve(listener, app).await?;
    Ok(())
}
