//! `POST /{tenant}/scim/v2/Bulk` (RFC 7644 §3.7): many operations in one request, each run
//! like its own request (its own transaction, its own result). A `bulkId` names a resource a
//! POST makes, and `bulkId:<id>` anywhere in a later operation's path or data stands for its
//! id; an operation waits until what it names exists, and one that can never run (a circle,
//! a bulkId nothing makes, one whose POST failed) fails with 409. `failOnErrors` stops after
//! that many errors.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portico_core::directory::Tenant;
use portico_core::scim::{Precondition, ScimCaller, ScimProblem, ScimResource, etag};
use serde_json::{Map, Value, json};

use super::request::json_body;
use super::{ScimError, caller, scim_json};
use crate::AppState;

/// The most operations one Bulk request may carry.
pub(crate) const MAX_OPERATIONS: usize = 1000;
/// The largest Bulk request body, in bytes.
pub(crate) const MAX_PAYLOAD: usize = 1 << 20;

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// One operation as the client sent it.
struct Operation {
    method: String,
    path: String,
    bulk_id: Option<String>,
    version: Option<String>,
    data: Value,
}

/// What one operation did.
struct Outcome {
    status: StatusCode,
    location: Option<String>,
    version: Option<String>,
    error: Option<Value>,
    /// The id a POST made.
    made: Option<String>,
}

fn outcome_of(result: Result<(StatusCode, Option<ScimResource>), ScimError>) -> Outcome {
    match result {
        Ok((status, resource)) => Outcome {
            status,
            location: resource.as_ref().and_then(|r| {
                r.doc
                    .get("meta")
                    .and_then(|m| m.get("location"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            }),
            version: resource.as_ref().map(|r| etag(r.version)),
            error: None,
            made: resource.and_then(|r| r.doc.get("id").and_then(Value::as_str).map(str::to_owned)),
        },
        Err(err) => {
            let (status, body) = err.document();
            Outcome {
                status,
                location: None,
                version: None,
                error: Some(body),
                made: None,
            }
        }
    }
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimProblem::InvalidSyntax(detail.into()).into()
}

fn operations(body: &Value) -> Result<(Vec<Operation>, Option<usize>), ScimError> {
    let Value::Object(body) = body else {
        return Err(invalid("a BulkRequest is a JSON object"));
    };
    let schemas_ok = body
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|s| s == BULK_REQUEST));
    if !schemas_ok {
        return Err(invalid(format!("schemas names {BULK_REQUEST}")));
    }
    let fail_on_errors = match body.get("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n > 0)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| invalid("failOnErrors is a whole number above 0"))?,
        ),
    };
    let list = body
        .get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("Operations is a list"))?;
    if list.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a Bulk request holds at most {MAX_OPERATIONS} operations"),
        ));
    }
    let text =
        |op: &Map<String, Value>, key: &str| op.get(key).and_then(Value::as_str).map(str::to_owned);
    let operations = list
        .iter()
        .map(|op| {
            let op = op
                .as_object()
                .ok_or_else(|| invalid("an operation is a JSON object"))?;
            let method = text(op, "method")
                .map(|m| m.to_ascii_uppercase())
                .filter(|m| ["POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()))
                .ok_or_else(|| invalid("an operation's method is POST, PUT, PATCH or DELETE"))?;
            let path = text(op, "path").ok_or_else(|| invalid("an operation has a path"))?;
            let bulk_id = text(op, "bulkId");
            if method == "POST" && bulk_id.as_deref().is_none_or(str::is_empty) {
                return Err(invalid("a POST operation has a bulkId"));
            }
            Ok(Operation {
                method,
                path,
                bulk_id,
                version: text(op, "version"),
                data: op.get("data").cloned().unwrap_or(Value::Null),
            })
        })
        .collect::<Result<Vec<_>, ScimError>>()?;
    Ok((operations, fail_on_errors))
}

/// The bulkIds an operation names (`bulkId:<id>` in its path or anywhere in its data).
fn references(op: &Operation) -> HashSet<String> {
    fn walk(value: &Value, out: &mut HashSet<String>) {
        match value {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix("bulkId:") {
                    out.insert(id.to_owned());
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = HashSet::new();
    for segment in op.path.split('/') {
        walk(&Value::String(segment.to_owned()), &mut out);
    }
    walk(&op.data, &mut out);
    out
}

/// The operation with every `bulkId:<id>` replaced by the id it stands for.
fn resolved(op: &Operation, made: &HashMap<String, String>) -> (String, Value) {
    fn walk(value: &Value, made: &HashMap<String, String>) -> Value {
        match value {
            Value::String(s) => match s.strip_prefix("bulkId:").and_then(|id| made.get(id)) {
                Some(id) => Value::String(id.clone()),
                None => value.clone(),
            },
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, made)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(v, made)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    let path = op
        .path
        .split('/')
        .map(
            |segment| match segment.strip_prefix("bulkId:").and_then(|id| made.get(id)) {
                Some(id) => id.as_str(),
                None => segment,
            },
        )
        .collect::<Vec<_>>()
        .join("/");
    (path, walk(&op.data, made))
}

/// Runs one operation as the request it stands for.
async fn run(
    state: &AppState,
    tenant: &Tenant,
    who: &ScimCaller,
    op: &Operation,
    path: &str,
    data: &Value,
) -> Result<(StatusCode, Option<ScimResource>), ScimError> {
    let portico = &state.portico;
    let precondition = Precondition::parse(op.version.as_deref())?;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let not_found = || ScimError::new(StatusCode::NOT_FOUND, format!("no resource at {path}"));
    Ok(match (op.method.as_str(), segments.as_slice()) {
        ("POST", ["Users"]) => (
            StatusCode::CREATED,
            Some(portico.scim_create_user(tenant, who, data).await?),
        ),
        ("POST", ["Groups"]) => (
            StatusCode::CREATED,
            Some(portico.scim_create_group(tenant, who, data).await?),
        ),
        ("PUT", ["Users", id]) => (
            StatusCode::OK,
            Some(
                portico
                    .scim_replace_user(tenant, who, id, data, &precondition)
                    .await?,
            ),
        ),
        ("PUT", ["Groups", id]) => (
            StatusCode::OK,
            Some(
                portico
                    .scim_replace_group(tenant, who, id, data, &precondition)
                    .await?,
            ),
        ),
        ("PATCH", ["Users", id]) => (
            StatusCode::OK,
            Some(
                portico
                    .scim_patch_user(tenant, who, id, data, &precondition)
                    .await?,
            ),
        ),
        ("PATCH", ["Groups", id]) => {
            portico
                .scim_patch_group(tenant, who, id, data, &precondition)
                .await?;
            (
                StatusCode::OK,
                Some(portico.scim_get_group(tenant, id, false).await?),
            )
        }
        ("DELETE", ["Users", id]) => {
            portico
                .scim_delete_user(tenant, who, id, &precondition)
                .await?;
            (StatusCode::NO_CONTENT, None)
        }
        ("DELETE", ["Groups", id]) => {
            portico
                .scim_delete_group(tenant, who, id, &precondition)
                .await?;
            (StatusCode::NO_CONTENT, None)
        }
        _ => return Err(not_found()),
    })
}

/// `POST /{tenant}/scim/v2/Bulk`.
pub(super) async fn bulk(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let (tenant, who) = caller(&state, &tenant, &headers).await?;
    // Every Bulk operation writes: a read-only caller gets no further.
    who.writer()?;
    let (operations, fail_on_errors) = operations(&json_body(&body)?)?;
    // What each operation names, once (deduplicated), and what the request makes at all.
    let references: Vec<HashSet<String>> = operations.iter().map(references).collect();
    let announced: HashSet<&str> = operations
        .iter()
        .filter_map(|o| o.bulk_id.as_deref())
        .collect();
    let mut outcomes: Vec<Option<Outcome>> = operations.iter().map(|_| None).collect();
    let mut made: HashMap<String, String> = HashMap::new();
    let mut failed_ids: HashSet<String> = HashSet::new();
    let mut errors = 0usize;
    let mut pending: Vec<usize> = (0..operations.len()).collect();
    'passes: while !pending.is_empty() {
        let mut waiting = Vec::new();
        let before = pending.len();
        for index in pending {
            let (Some(op), Some(refs)) = (operations.get(index), references.get(index)) else {
                continue;
            };
            let dead = refs
                .iter()
                .find(|r| failed_ids.contains(*r) || !announced.contains(r.as_str()));
            let outcome = if let Some(dead) = dead {
                outcome_of(Err(ScimError::new(
                    StatusCode::CONFLICT,
                    format!("bulkId {dead:?} names no resource this request made"),
                )))
            } else if refs.iter().all(|r| made.contains_key(r)) {
                let (path, data) = resolved(op, &made);
                outcome_of(run(&state, &tenant, &who, op, &path, &data).await)
            } else {
                waiting.push(index);
                continue;
            };
            if let Some(bulk_id) = &op.bulk_id {
                match &outcome.made {
                    Some(id) => {
                        made.insert(bulk_id.clone(), id.clone());
                    }
                    None => {
                        failed_ids.insert(bulk_id.clone());
                    }
                }
            }
            if outcome.error.is_some() {
                errors += 1;
            }
            if let Some(slot) = outcomes.get_mut(index) {
                *slot = Some(outcome);
            }
            if fail_on_errors.is_some_and(|limit| errors >= limit) {
                break 'passes;
            }
        }
        if waiting.len() == before {
            // Nothing ran: what is left waits on itself.
            for index in waiting {
                if let Some(slot) = outcomes.get_mut(index) {
                    *slot = Some(outcome_of(Err(ScimError::new(
                        StatusCode::CONFLICT,
                        "the operation's bulkId references go round in a circle",
                    ))));
                }
            }
            break;
        }
        pending = waiting;
    }
    let results: Vec<Value> = operations
        .iter()
        .zip(outcomes)
        .filter_map(|(op, outcome)| {
            let outcome = outcome?;
            let mut result =
                json!({"method": op.method, "status": outcome.status.as_u16().to_string()});
            let map = result.as_object_mut()?;
            if let Some(bulk_id) = &op.bulk_id {
                map.insert("bulkId".into(), bulk_id.clone().into());
            }
            if let Some(location) = outcome.location {
                map.insert("location".into(), location.into());
            }
            if let Some(version) = outcome.version {
                map.insert("version".into(), version.into());
            }
            if let Some(error) = outcome.error {
                map.insert("response".into(), error);
            }
            Some(result)
        })
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &json!({"schemas": [BULK_RESPONSE], "Operations": results}),
    ))
}
