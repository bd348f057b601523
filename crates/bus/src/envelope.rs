//! The messages on the wire: RPC requests and responses, and events.
//!
//! Field names are VoIPBIN's, so a Voxbin service and a VoIPBIN one can share a broker. Errors
//! travel inside a response as `data_type: "voipbin_error"` with a serialised
//! [`voxbin_core::Error`] as data; [`Response::into_result`] turns them back into values.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use voxbin_core::{Error, ErrorKind, Result};

/// The `data_type` of a JSON payload.
pub const DATA_TYPE_JSON: &str = "application/json";

/// The `data_type` of an error response; its data is `{status, reason, message}`.
pub const DATA_TYPE_ERROR: &str = "voipbin_error";

/// The method of an RPC request, as in HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// Read.
    Get,
    /// Create or act.
    Post,
    /// Update.
    Put,
    /// Delete.
    Delete,
}

impl Method {
    /// The wire spelling (`GET`, `POST`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RPC request: a uri and method addressed to a service's request queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Path and query, e.g. `/v1/calls/<id>/hangup?x=y`.
    pub uri: String,
    /// What to do with the resource.
    pub method: Method,
    /// Who sent it, e.g. `flow-manager`.
    #[serde(default)]
    pub publisher: String,
    /// The payload's type; `application/json` when there is data.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data_type: String,
    /// The payload, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Correlates logs across services for one user request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The transport's id of this delivery, the same when the broker redelivers it (not on
    /// the wire: the AMQP correlation id carries it). Makes creates idempotent.
    #[serde(skip)]
    pub delivery_id: Option<String>,
}

impl Request {
    /// A request without data or publisher.
    pub fn new(method: Method, uri: impl Into<String>) -> Self {
        Request {
            uri: uri.into(),
            method,
            publisher: String::new(),
            data_type: String::new(),
            data: None,
            request_id: None,
            delivery_id: None,
        }
    }

    /// Sets the JSON payload (`null` means none).
    pub fn with_data(mut self, data: Value) -> Self {
        if data.is_null() {
            self.data = None;
            self.data_type.clear();
        } else {
            self.data = Some(data);
            self.data_type = DATA_TYPE_JSON.to_owned();
        }
        self
    }

    /// Sets the publisher name.
    pub fn with_publisher(mut self, publisher: impl Into<String>) -> Self {
        self.publisher = publisher.into();
        self
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// The path part of the uri (before `?`).
    pub fn path(&self) -> &str {
        self.uri
            .split_once('?')
            .map_or(self.uri.as_str(), |(path, _)| path)
    }

    /// The raw query part of the uri (after `?`), if any.
    pub fn query_string(&self) -> Option<&str> {
        self.uri.split_once('?').map(|(_, query)| query)
    }
}

/// An RPC response: a status code and an optional payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// HTTP-like status; 400 and above are errors.
    pub status_code: u16,
    /// `application/json`, or `voipbin_error` for an error.
    #[serde(default)]
    pub data_type: String,
    /// The payload, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl Response {
    /// A 200 with a JSON payload (`null` means none).
    pub fn ok(data: Value) -> Self {
        Self::with_status(200, data)
    }

    /// A JSON response with any status code.
    pub fn with_status(status_code: u16, data: Value) -> Self {
        Response {
            status_code,
            data_type: DATA_TYPE_JSON.to_owned(),
            data: (!data.is_null()).then_some(data),
        }
    }

    /// The error envelope of `error`, with its kind's HTTP status.
    pub fn error(error: &Error) -> Self {
        // Built by hand rather than through serde so that it cannot fail.
        let mut data = Map::new();
        data.insert(
            "status".into(),
            Value::String(error.kind.as_str().to_owned()),
        );
        data.insert("reason".into(), Value::String(error.reason.clone()));
        data.insert("message".into(), Value::String(error.message.clone()));
        Response {
            status_code: error.http_status(),
            data_type: DATA_TYPE_ERROR.to_owned(),
            data: Some(Value::Object(data)),
        }
    }

    /// A 200 for `Ok`, the error envelope for `Err`.
    pub fn from_result(result: Result<Value>) -> Self {
        match result {
            Ok(data) => Self::ok(data),
            Err(error) => Self::error(&error),
        }
    }

    /// Whether this is an error (an error envelope or a status of 400 and above).
    pub fn is_error(&self) -> bool {
        self.data_type == DATA_TYPE_ERROR || self.status_code >= 400
    }

    /// The payload for a success (`null` when none), the [`Error`] for an error.
    pub fn into_result(self) -> Result<Value> {
        if !self.is_error() {
            return Ok(self.data.unwrap_or(Value::Null));
        }
        let status = self.status_code;
        if let Some(data) = self.data {
            if let Ok(error) = Error::deserialize(&data) {
                return Err(error);
            }
            // A peer that answered an error status without our envelope: keep what it said.
            let kind = ErrorKind::from_http_status(status);
            let message = match data {
                Value::String(text) => text,
                other => other.to_string(),
            };
            return Err(Error::new(kind, kind.as_str(), message));
        }
        let kind = ErrorKind::from_http_status(status);
        Err(Error::new(
            kind,
            kind.as_str(),
            format!("the service answered status {status}"),
        ))
    }
}

/// An event: something that happened in a service, published to whoever listens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `<resource>_<verb>`, e.g. `call_created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The publishing service, e.g. `call-manager`.
    pub publisher: String,
    /// The payload's type; `application/json` when there is data.
    #[serde(default)]
    pub data_type: String,
    /// The payload, usually the resource as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// The publisher's sequence number of the event (its outbox row), when it has one:
    /// consumers that compete on one queue order a resource's events by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
}

impl Event {
    /// An event with a JSON payload (`null` means none).
    pub fn new(event_type: impl Into<String>, publisher: impl Into<String>, data: Value) -> Self {
        Event {
            event_type: event_type.into(),
            publisher: publisher.into(),
            data_type: DATA_TYPE_JSON.to_owned(),
            data: (!data.is_null()).then_some(data),
            seq: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_json_field_names_are_voipbin_s() {
        let request = Request::new(Method::Post, "/v1/calls/abc/hangup?x=y")
            .with_publisher("flow-manager")
            .with_data(json!({"reason": "normal"}))
            .with_request_id("req-1");
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({
                "uri": "/v1/calls/abc/hangup?x=y",
                "method": "POST",
                "publisher": "flow-manager",
                "data_type": "application/json",
                "data": {"reason": "normal"},
                "request_id": "req-1"
            })
        );
        assert_eq!(request.path(), "/v1/calls/abc/hangup");
        assert_eq!(request.query_string(), Some("x=y"));
    }

    #[test]
    fn request_without_data_omits_it_and_accepts_null() {
        let request = Request::new(Method::Get, "/v1/ping").with_publisher("api-manager");
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"uri": "/v1/ping", "method": "GET", "publisher": "api-manager"})
        );
        let parsed: Request = serde_json::from_value(json!({
            "uri": "/v1/ping", "method": "DELETE", "publisher": "x", "data_type": "", "data": null
        }))
        .unwrap();
        assert_eq!(parsed.method, Method::Delete);
        assert_eq!(parsed.data, None);
        assert_eq!(parsed.request_id, None);
    }

    #[test]
    fn response_json_field_names_are_voipbin_s() {
        let response = Response::ok(json!({"id": "abc"}));
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"status_code": 200, "data_type": "application/json", "data": {"id": "abc"}})
        );
    }

    #[test]
    fn error_envelope_round_trips_to_the_error() {
        let error = Error::not_found("flow");
        let response = Response::error(&error);
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({
                "status_code": 404,
                "data_type": "voipbin_error",
                "data": {"status": "NOT_FOUND", "reason": "FLOW_NOT_FOUND", "message": "The flow was not found."}
            })
        );
        assert!(response.is_error());
        assert_eq!(response.into_result(), Err(error));
    }

    #[test]
    fn bare_error_status_becomes_an_error_of_its_kind() {
        let response = Response::with_status(503, json!("draining"));
        let error = response.into_result().unwrap_err();
        assert_eq!(error.kind, ErrorKind::Unavailable);
        assert_eq!(error.message, "draining");
        let empty = Response {
            status_code: 404,
            data_type: String::new(),
            data: None,
        };
        assert_eq!(empty.into_result().unwrap_err().kind, ErrorKind::NotFound);
    }

    #[test]
    fn success_into_result_gives_the_data() {
        assert_eq!(Response::ok(json!([1, 2])).into_result(), Ok(json!([1, 2])));
        assert_eq!(Response::ok(Value::Null).into_result(), Ok(Value::Null));
    }

    #[test]
    fn event_json_field_names_are_voipbin_s() {
        let event = Event::new("call_created", "call-manager", json!({"id": "abc"}));
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({
                "type": "call_created",
                "publisher": "call-manager",
                "data_type": "application/json",
                "data": {"id": "abc"}
            })
        );
        let back: Event = serde_json::from_value(serde_json::to_value(&event).unwrap()).unwrap();
        assert_eq!(back, event);
    }
}
