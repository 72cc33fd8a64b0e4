//! OnAttributeCollectionStart and OnAttributeCollectionSubmit: sign-up asks the company's
//! service before the attributes page (prefill, or block) and with what was collected
//! (change it, refuse it with messages of its own, or block). A failed call stops the step
//! with an error page (or the native API's error): a sign-up the company could not check is
//! not let through.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Map, Value};

use super::callout::CallFor;
use super::payload::{CalloutContext, envelope, sign_up_info};
use super::{Answer, Extension, ExtensionEvent};
use crate::directory::Tenant;
use crate::signin::SignInFlow;
use crate::signin::engine::{AttributeReview, CollectionStart};
use crate::{CoreError, Portico};

/// A prefill value as the page's field takes it: text as is, numbers and booleans written
/// out, a list as the comma-delimited string Entra uses for several choices.
fn field_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(field_text)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Null | Value::Object(_) => None,
    }
}

impl Portico {
    async fn call_for_flow(
        &self,
        tenant: &Tenant,
        flow: &SignInFlow,
        extension: &Extension,
        ip: IpAddr,
    ) -> Result<Answer, CoreError> {
        let app = self.app_of(tenant.id, flow.client_id).await?;
        let correlation_id = flow.id.to_string();
        let context = CalloutContext {
            tenant,
            extension,
            correlation_id: &correlation_id,
            client: app.as_ref(),
            resource: None,
            client_ip: Some(ip),
            locale: None,
            user: None,
            request_type: None,
        };
        let mut attributes: Map<String, Value> = flow
            .flow
            .attributes
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        if let Some(email) = &flow.flow.email {
            attributes.insert("email".into(), email.clone().into());
        }
        let payload = envelope(
            &context,
            sign_up_info(&attributes, flow.flow.email.as_deref()),
        );
        let call = CallFor {
            correlation_id: &correlation_id,
            client: flow.client_id,
            nonce: None,
        };
        Ok(self
            .call_extension(tenant, extension, &payload, call)
            .await?)
    }

    /// Before the attributes page: prefill or block (`Continue` where no extension serves).
    pub(crate) async fn attribute_collection_start(
        &self,
        tenant: &Tenant,
        flow: &SignInFlow,
        ip: IpAddr,
    ) -> Result<CollectionStart, CoreError> {
        let event = ExtensionEvent::AttributeCollectionStart;
        let Some(extension) = self.extension_for(tenant.id, event, flow.client_id).await? else {
            return Ok(CollectionStart::Continue);
        };
        Ok(
            match self.call_for_flow(tenant, flow, &extension, ip).await? {
                Answer::Prefill(inputs) => CollectionStart::Prefill(
                    inputs
                        .iter()
                        .filter_map(|(name, value)| Some((name.clone(), field_text(value)?)))
                        .collect(),
                ),
                Answer::Block { message, .. } => CollectionStart::Block(message),
                _ => CollectionStart::Continue,
            },
        )
    }

    /// With the collected attributes: keep, change, refuse or block (`Continue` where no
    /// extension serves).
    pub(crate) async fn attribute_collection_submit(
        &self,
        tenant: &Tenant,
        flow: &SignInFlow,
        ip: IpAddr,
    ) -> Result<AttributeReview, CoreError> {
        let event = ExtensionEvent::AttributeCollectionSubmit;
        let Some(extension) = self.extension_for(tenant.id, event, flow.client_id).await? else {
            return Ok(AttributeReview::Continue);
        };
        Ok(
            match self.call_for_flow(tenant, flow, &extension, ip).await? {
                Answer::ModifyAttributes(values) => {
                    AttributeReview::Modify(values.into_iter().collect::<BTreeMap<_, _>>())
                }
                Answer::ValidationError {
                    message,
                    attribute_errors,
                } => AttributeReview::Refuse {
                    message,
                    errors: attribute_errors,
                },
                Answer::Block { message, .. } => AttributeReview::Block(message),
                _ => AttributeReview::Continue,
            },
        )
    }
}
