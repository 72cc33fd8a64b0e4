//! What the Users and Groups endpoints read from a request the same way: list parameters
//! (query string or SearchRequest), attribute selection, JSON bodies, `If-Match`; and how
//! they answer with a resource and its ETag.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portico_core::scim::schema::{LIST_RESPONSE, SEARCH_REQUEST};
use portico_core::scim::{
    ListPage, ListParams, Precondition, ScimProblem, ScimResource, etag, project,
};
use serde_json::{Map, Value, json};

use super::{ScimError, scim_json};

/// What a list or read asks to see.
#[derive(Debug, Default)]
pub(super) struct Selection {
    pub(super) attributes: Vec<String>,
    pub(super) excluded: Vec<String>,
}

impl Selection {
    /// Whether a group's members are wanted (Entra leaves them out to keep answers small).
    pub(super) fn wants(&self, name: &str) -> bool {
        let named = |list: &[String]| list.iter().any(|a| a.eq_ignore_ascii_case(name));
        !named(&self.excluded) && (self.attributes.is_empty() || named(&self.attributes))
    }

    pub(super) fn apply(&self, doc: &mut Map<String, Value>) {
        project(doc, &self.attributes, &self.excluded);
    }
}

fn names(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn integer(name: &str, text: &str) -> Result<i64, ScimError> {
    text.trim().parse().map_err(|_| {
        ScimError::from(ScimProblem::InvalidValue(format!(
            "{name} is a whole number"
        )))
    })
}

/// The list parameters of a query string (names matched ignoring case).
pub(super) fn from_query(query: Option<&str>) -> Result<(ListParams, Selection), ScimError> {
    let mut params = ListParams::default();
    let mut selection = Selection::default();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.to_ascii_lowercase().as_str() {
            "filter" => params.filter = Some(value.into_owned()),
            "sortby" => params.sort_by = Some(value.into_owned()),
            "sortorder" => params.sort_order = Some(value.into_owned()),
            "startindex" => params.start_index = Some(integer("startIndex", &value)?),
            "count" => params.count = Some(integer("count", &value)?),
            "attributes" => selection.attributes = names(&value),
            "excludedattributes" => selection.excluded = names(&value),
            _ => {}
        }
    }
    Ok((params, selection))
}

/// A SearchRequest body (RFC 7644 §3.4.3).
pub(super) fn from_search(body: &Value) -> Result<(ListParams, Selection), ScimError> {
    let Value::Object(body) = body else {
        return Err(ScimProblem::InvalidSyntax("a SearchRequest is a JSON object".into()).into());
    };
    let mut params = ListParams::default();
    let mut selection = Selection::default();
    let bad = |name: &str, what: &str| {
        ScimError::from(ScimProblem::InvalidValue(format!("{name} is {what}")))
    };
    for (key, value) in body {
        match (key.to_ascii_lowercase().as_str(), value) {
            ("schemas", Value::Array(list)) if list.iter().any(|s| s == SEARCH_REQUEST) => {}
            ("schemas", _) => {
                return Err(
                    ScimProblem::InvalidSyntax(format!("schemas names {SEARCH_REQUEST}")).into(),
                );
            }
            ("filter", Value::String(s)) => params.filter = Some(s.clone()),
            ("sortby", Value::String(s)) => params.sort_by = Some(s.clone()),
            ("sortorder", Value::String(s)) => params.sort_order = Some(s.clone()),
            ("startindex", v) => {
                params.start_index = Some(
                    v.as_i64()
                        .ok_or_else(|| bad("startIndex", "a whole number"))?,
                )
            }
            ("count", v) => {
                params.count = Some(v.as_i64().ok_or_else(|| bad("count", "a whole number"))?)
            }
            ("attributes", Value::Array(list)) => {
                selection.attributes = list
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
            }
            ("excludedattributes", Value::Array(list)) => {
                selection.excluded = list
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
            }
            (name, _)
                if [
                    "filter",
                    "sortby",
                    "sortorder",
                    "attributes",
                    "excludedattributes",
                ]
                .contains(&name) =>
            {
                return Err(bad(key, "of another type"));
            }
            _ => {}
        }
    }
    Ok((params, selection))
}

/// A JSON request body.
pub(super) fn json_body(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimProblem::InvalidSyntax(format!("the body is not JSON: {e}")).into())
}

pub(super) fn precondition(headers: &HeaderMap) -> Result<Precondition, ScimError> {
    let header = headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    Ok(Precondition::parse(header)?)
}

/// A resource with its ETag (and `Location` when it was just made).
pub(super) fn resource(
    status: StatusCode,
    mut served: ScimResource,
    selection: &Selection,
) -> Response {
    let location = served
        .doc
        .get("meta")
        .and_then(|m| m.get("location"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    selection.apply(&mut served.doc);
    let mut response = scim_json(status, &Value::Object(served.doc));
    let headers = response.headers_mut();
    if let Ok(tag) = HeaderValue::from_str(&etag(served.version)) {
        headers.insert(header::ETAG, tag);
    }
    if status == StatusCode::CREATED
        && let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok())
    {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// A ListResponse of a page, each resource narrowed to the selection.
pub(super) fn list_response(page: ListPage, selection: &Selection) -> Response {
    let resources: Vec<Value> = page
        .resources
        .into_iter()
        .map(|mut doc| {
            selection.apply(&mut doc);
            Value::Object(doc)
        })
        .collect();
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": page.total,
            "startIndex": page.start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

/// A read's answer: 304 if the client's `If-None-Match` names the current version.
pub(super) fn read_response(
    headers: &HeaderMap,
    served: ScimResource,
    selection: &Selection,
) -> Response {
    let tag = etag(served.version);
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    if unchanged {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(tag) = HeaderValue::from_str(&tag) {
            response.headers_mut().insert(header::ETAG, tag);
        }
        return response;
    }
    resource(StatusCode::OK, served, selection)
}
