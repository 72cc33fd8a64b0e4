//! Per-request wire details of the native API: the correlation id (the client's
//! `client-request-id`, echoed), a trace id, the time, and how answers are written.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::NativeError;

/// Ids and time stamped on every answer.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    pub trace_id: String,
    pub correlation_id: String,
    pub now: i64,
}

impl Wire {
    /// Takes the client's `client-request-id` as the correlation id when it is a sane token
    /// (MSAL sends a GUID), else makes one.
    pub(crate) fn new(headers: &HeaderMap, now: i64) -> Self {
        let correlation_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|id| {
                !id.is_empty()
                    && id.len() <= 64
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Self {
            trace_id: uuid::Uuid::new_v4().to_string(),
            correlation_id,
            now,
        }
    }

    /// `yyyy-mm-dd hh:mm:ssZ`, as Entra writes it.
    pub(crate) fn timestamp(&self) -> String {
        let days = self.now.div_euclid(86_400);
        let secs = self.now.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }

    /// Writes a success (HTTP 200) or an error (its own status) with the headers every answer
    /// carries.
    pub(crate) fn respond(&self, result: Result<Value, NativeError>) -> Response {
        let mut response = match result {
            Ok(body) => axum::Json(body).into_response(),
            Err(err) => (err.status, axum::Json(err.body(self))).into_response(),
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Ok(value) = HeaderValue::from_str(&self.correlation_id) {
            headers.insert("client-request-id", value);
        }
        response
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(now: i64) -> String {
        Wire {
            trace_id: String::new(),
            correlation_id: String::new(),
            now,
        }
        .timestamp()
    }

    #[test]
    fn timestamps_are_utc_calendar_times() {
        assert_eq!(at(0), "1970-01-01 00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(at(1_795_391_999), "2026-11-22 23:59:59Z");
        assert_eq!(at(-1), "1969-12-31 23:59:59Z");
    }

    #[test]
    fn the_client_request_id_is_echoed_when_sane() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "client-request-id",
            HeaderValue::from_static("6f2b7c1e-0000-4000-8000-000000000001"),
        );
        assert_eq!(
            Wire::new(&headers, 0).correlation_id,
            "6f2b7c1e-0000-4000-8000-000000000001"
        );
        headers.insert("client-request-id", HeaderValue::from_static("a b\"c"));
        assert_eq!(Wire::new(&headers, 0).correlation_id.len(), 36);
    }
}
