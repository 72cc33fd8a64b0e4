//! `portico app claim-map`: the name a claim provided by a custom authentication extension
//! takes in one app's tokens (Entra's claims-mapping policy).

use anyhow::Result;
use clap::Args;
use portico_core::Portico;
use portico_core::directory::{AppChanges, ClaimMapping, TenantRef};
use portico_core::ids::ClientId;
use serde_json::json;

use super::Output;

/// `app claim-map` arguments.
#[derive(Debug, Args)]
pub struct ClaimMapArgs {
    /// Tenant name or id.
    #[arg(long)]
    tenant: String,
    /// Client id of the app whose tokens carry the claim.
    #[arg(long)]
    app: ClientId,
    /// The claim's name in the extension's answer (case-sensitive).
    #[arg(long)]
    source: String,
    /// Its name in the app's tokens.
    #[arg(long, required_unless_present = "remove")]
    claim: Option<String>,
    /// Remove the mapping (the claim keeps its own name again).
    #[arg(long, conflicts_with = "claim")]
    remove: bool,
}

/// Sets or removes one mapping, keeping the others.
pub(super) async fn run(portico: &Portico, args: ClaimMapArgs) -> Result<Output> {
    let tenant = TenantRef::parse(&args.tenant);
    let app = portico.show_application(&tenant, args.app).await?;
    let mut mappings: Vec<ClaimMapping> = app
        .claim_mappings
        .into_iter()
        .filter(|m| m.source != args.source)
        .collect();
    if let Some(claim) = &args.claim {
        mappings.push(ClaimMapping {
            source: args.source.clone(),
            claim: claim.clone(),
        });
    }
    let app = portico
        .update_application(
            &tenant,
            args.app,
            AppChanges {
                claim_mappings: Some(mappings),
                ..AppChanges::default()
            },
        )
        .await?;
    let human = match &args.claim {
        Some(claim) => format!("{}: {} is emitted as {claim}", app.client_id, args.source),
        None => format!("{}: {} keeps its name", app.client_id, args.source),
    };
    Ok(Output {
        human,
        json: json!({
            "app": app.client_id.to_string(),
            "claim_mappings": app.claim_mappings.iter().map(|m| json!({"source": m.source, "claim": m.claim})).collect::<Vec<_>>(),
        }),
    })
}
