//! `portico extension test`: one call with a sample payload of the extension's event, so an
//! operator sees what their service answers and how Portico reads it before a person does.

use serde_json::{Map, Value, json};

use super::callout::CallFor;
use super::payload::{CalloutContext, envelope, otp_context, sign_up_info};
use super::{Answer, CalloutError, ExtensionEvent};
use crate::directory::{TenantRef, User};
use crate::ids::UserId;
use crate::{CoreError, Portico};

/// What a test call sent and how the answer was read.
#[derive(Debug, Clone)]
pub struct Trial {
    /// The request sent.
    pub payload: Value,
    /// The answer as read, or why it was refused.
    pub answer: Result<Answer, CalloutError>,
}

impl Answer {
    /// The answer as the operator reads it: Entra's action name and its fields.
    pub fn to_json(&self) -> Value {
        match self {
            Self::ProvideClaims(claims) => {
                let claims: Map<String, Value> = claims
                    .iter()
                    .map(|(name, value)| {
                        let value = match value {
                            super::ClaimValue::Text(text) => json!(text),
                            super::ClaimValue::List(items) => json!(items),
                        };
                        (name.clone(), value)
                    })
                    .collect();
                json!({"action": "provideClaimsForToken", "claims": claims})
            }
            Self::Continue => json!({"action": "continueWithDefaultBehavior"}),
            Self::Prefill(inputs) => json!({"action": "setPrefillValues", "inputs": inputs}),
            Self::ModifyAttributes(attributes) => {
                json!({"action": "modifyAttributeValues", "attributes": attributes})
            }
            Self::ValidationError {
                message,
                attribute_errors,
            } => json!({
                "action": "showValidationError",
                "message": message,
                "attributeErrors": attribute_errors,
            }),
            Self::Block { title, message } => {
                json!({"action": "showBlockPage", "title": title, "message": message})
            }
            Self::MigratePassword => json!({"action": "MigratePassword"}),
            Self::UpdatePassword => json!({"action": "UpdatePassword"}),
            Self::Retry => json!({"action": "Retry"}),
        }
    }
}

impl Portico {
    /// Calls an extension once with sample data for its event (a sample person
    /// `test.user@example.com`; an attached app, when it has one).
    pub async fn test_extension(&self, tenant: &TenantRef, id: &str) -> Result<Trial, CoreError> {
        let extension = self.show_extension(tenant, id).await?;
        let tenant = self.tenant(tenant).await?;
        let client = self
            .app_of(tenant.id, extension.apps.first().copied())
            .await?;
        let sample = User {
            id: UserId::new_random(),
            tenant_id: tenant.id,
            email: "test.user@example.com".into(),
            display_name: Some("Test User".into()),
            password_hash: None,
            password_in_legacy_store: false,
            enabled: true,
            attributes: Default::default(),
            created_at: self.now(),
        };
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let mut attributes = Map::new();
        attributes.insert("email".into(), sample.email.clone().into());
        attributes.insert("displayName".into(), "Test User".into());
        let nonce = crate::secret::random_token()?;
        let (data, user, request_type) = match extension.event {
            ExtensionEvent::TokenIssuanceStart => (Map::new(), Some(&sample), None),
            ExtensionEvent::AttributeCollectionStart
            | ExtensionEvent::AttributeCollectionSubmit => {
                (sign_up_info(&attributes, Some(&sample.email)), None, None)
            }
            ExtensionEvent::OtpSend => {
                (otp_context(&sample.email, "12345678"), None, Some("signUp"))
            }
            ExtensionEvent::PasswordSubmit => {
                let mut data = Map::new();
                let encrypted =
                    self.encrypted_password(&extension, &sample, "sample-password", &nonce)?;
                data.insert("encryptedPasswordContext".into(), encrypted.into());
                (data, Some(&sample), None)
            }
        };
        let context = CalloutContext {
            tenant: &tenant,
            extension: &extension,
            correlation_id: &correlation_id,
            client: client.as_ref(),
            resource: None,
            client_ip: None,
            locale: None,
            user,
            request_type,
        };
        let payload = envelope(&context, data);
        let call = CallFor {
            correlation_id: &correlation_id,
            client: client.as_ref().map(|app| app.client_id),
            nonce: (extension.event == ExtensionEvent::PasswordSubmit).then_some(nonce.as_str()),
        };
        // Written before answering: the command may end its process right after.
        let (answer, record) = self.make_call(&tenant, &extension, &payload, call).await;
        self.store.record_extension_call(&record).await?;
        Ok(Trial { payload, answer })
    }
}
