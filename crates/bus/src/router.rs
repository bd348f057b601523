//! Routing RPC requests to handler functions by method and uri template, written once so that
//! services don't repeat the plumbing.
//!
//! A service lists its routes (`GET /v1/flows/{id}` -> `get_flow`); the [`Router`] matches the
//! request, hands the handler a [`Ctx`] with path and query parameters and the body, turns the
//! handler's `Result` into a response or an error envelope, catches panics and records the
//! `voipbin_rpc_*` metrics by route template (never by concrete uri, to bound label values).
//! Every router also answers `GET /v1/ping`.

use crate::envelope::{Method, Request, Response};
use crate::errors;
use crate::handler::Handler;
use crate::names::request_queue;
use crate::uri::{parse_query, percent_decode};
use async_trait::async_trait;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::sync::Arc;
use uuid::Uuid;
use voxbin_core::{Error, ErrorKind, Result};

/// The metrics label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

/// What a route handler gets: the request, its parameters and the router's state.
pub struct Ctx<S = ()> {
    request: Request,
    params: Params,
    query: Vec<(String, String)>,
    state: Arc<S>,
    ids_made: std::sync::atomic::AtomicU32,
}

impl<S> Ctx<S> {
    /// The request as it arrived.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The request, taken out of the context.
    pub fn into_request(self) -> Request {
        self.request
    }

    /// The request's method.
    pub fn method(&self) -> Method {
        self.request.method
    }

    /// The request id, to pass on to calls made while handling this request.
    pub fn request_id(&self) -> Option<&str> {
        self.request.request_id.as_deref()
    }

    /// An id for a resource this request creates: derived from the delivery id when the
    /// transport gives one, so a redelivered request makes the same ids again in the same order.
    pub fn new_id(&self) -> Uuid {
        let n = self
            .ids_made
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match &self.request.delivery_id {
            Some(seed) => voxbin_core::id::derived_id(seed, n),
            None => voxbin_core::id::new_id(),
        }
    }

    /// Whether the transport may have delivered this request before (creates then check
    /// for the row an earlier delivery made).
    pub fn may_be_redelivered(&self) -> bool {
        self.request.delivery_id.is_some()
    }

    /// The sending service, e.g. `flow-manager`.
    pub fn publisher(&self) -> &str {
        &self.request.publisher
    }

    /// The state given to [`Router::with_state`].
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The path parameter `name` (percent-decoded); 400 if the route has none by that name.
    pub fn param(&self, name: &str) -> Result<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .ok_or_else(|| {
                Error::invalid_argument(
                    "INVALID_ARGUMENT",
                    format!("path parameter {name} is missing"),
                )
            })
    }

    /// The path parameter `name` as a UUID; 400 naming the parameter if it is not one.
    pub fn param_uuid(&self, name: &str) -> Result<Uuid> {
        voxbin_core::id::parse_id(name, self.param(name)?)
    }

    /// The first query parameter `name` (percent-decoded), if present.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The query parameter `name` parsed as `T`; 400 naming the parameter if it does not parse.
    pub fn query_as<T>(&self, name: &str) -> Result<Option<T>>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.query(name)
            .map(|text| {
                text.parse().map_err(|e| {
                    Error::invalid_argument(
                        "INVALID_ARGUMENT",
                        format!("query parameter {name} is not valid ({e}): {text:?}"),
                    )
                })
            })
            .transpose()
    }

    /// The JSON body as `T` (a missing body reads as `null`); 400 with serde's message.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T> {
        let body = self.request.data.as_ref().unwrap_or(&Value::Null);
        T::deserialize(body).map_err(|e| {
            Error::invalid_argument("INVALID_BODY", format!("invalid request body: {e}"))
        })
    }
}

/// Path parameters by name, in template order.
type Params = Vec<(String, String)>;

type RouteFn<S> = Arc<dyn Fn(Ctx<S>) -> BoxFuture<'static, Result<Value>> + Send + Sync>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

struct Route<S> {
    method: Method,
    template: String,
    segments: Vec<Segment>,
    handler: RouteFn<S>,
}

impl<S> Route<S> {
    /// The path parameters if `path` fits this route's template.
    fn match_path(&self, path: &[&str]) -> Option<Params> {
        if path.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (segment, part) in self.segments.iter().zip(path) {
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Param(name) if !part.is_empty() => {
                    params.push((name.clone(), percent_decode(part, false).into_owned()))
                }
                _ => return None,
            }
        }
        Some(params)
    }

    /// Literal segments sort before parameters, so `/v1/calls/count` wins over `/v1/calls/{id}`.
    fn specificity(&self) -> Vec<bool> {
        self.segments
            .iter()
            .map(|s| matches!(s, Segment::Param(_)))
            .collect()
    }
}

/// The segments of a path, without the leading slash and a trailing one.
fn split_path(path: &str) -> Option<Vec<&str>> {
    let path = path.strip_prefix('/')?;
    let path = path.strip_suffix('/').unwrap_or(path);
    Some(if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').collect()
    })
}

/// Parses a route template; a bad template is a bug in the service, so it panics at startup.
fn parse_template(template: &str) -> Vec<Segment> {
    let Some(parts) = split_path(template) else {
        panic!("route template {template:?} must start with '/'");
    };
    parts
        .into_iter()
        .map(
            |part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) if !name.is_empty() && !name.contains(['{', '}']) => {
                    Segment::Param(name.to_owned())
                }
                _ if part.contains(['{', '}']) => {
                    panic!("route template {template:?} has a malformed parameter {part:?}")
                }
                _ => Segment::Literal(part.to_owned()),
            },
        )
        .collect()
}

/// Answer of `GET /v1/ping`.
#[derive(Serialize)]
struct Pong {
    pong: bool,
    service: String,
}

/// Dispatches requests to handlers by method and uri template; a [`Handler`] for a queue.
pub struct Router<S = ()> {
    service: String,
    state: Arc<S>,
    routes: Vec<Route<S>>,
}

impl Router<()> {
    /// A router without state for `service` (e.g. `flow`), answering `GET /v1/ping`.
    pub fn new(service: &str) -> Self {
        Router::with_state(service, ())
    }
}

impl<S: Send + Sync + 'static> Router<S> {
    /// A router whose handlers reach `state` through [`Ctx::state`].
    pub fn with_state(service: &str, state: S) -> Self {
        let router = Router {
            service: service.to_owned(),
            state: Arc::new(state),
            routes: Vec::new(),
        };
        let service = service.to_owned();
        router.route(Method::Get, "/v1/ping", move |_ctx: Ctx<S>| {
            let pong = Pong {
                pong: true,
                service: service.clone(),
            };
            async move { Ok(pong) }
        })
    }

    /// Adds a route; `{name}` segments of `template` are path parameters.
    ///
    /// Panics on a malformed template or a duplicate route: both are bugs found at startup.
    pub fn route<F, Fut, T>(mut self, method: Method, template: &str, handler: F) -> Self
    where
        F: Fn(Ctx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
        T: Serialize,
    {
        let segments = parse_template(template);
        let same_shape = |route: &Route<S>| {
            route.method == method
                && route.segments.len() == segments.len()
                && route.segments.iter().zip(&segments).all(|pair| match pair {
                    (Segment::Param(_), Segment::Param(_)) => true,
                    (a, b) => a == b,
                })
        };
        if let Some(existing) = self.routes.iter().find(|route| same_shape(route)) {
            panic!(
                "route {method} {template} duplicates {method} {}",
                existing.template
            );
        }
        let handler: RouteFn<S> = Arc::new(move |ctx| {
            let answer = handler(ctx);
            async move {
                let value = answer.await?;
                serde_json::to_value(value)
                    .map_err(|e| Error::internal(format!("cannot serialise the answer: {e}")))
            }
            .boxed()
        });
        self.routes.push(Route {
            method,
            template: template.to_owned(),
            segments,
            handler,
        });
        // Stable sort: among equally specific routes, registration order is kept.
        self.routes.sort_by_cached_key(Route::specificity);
        self
    }

    /// The service name given at construction.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The request queue this router is meant to serve.
    pub fn queue(&self) -> String {
        request_queue(&self.service)
    }

    /// Finds the route for `request`: 404 `ROUTE_NOT_FOUND`, 400 `METHOD_NOT_ALLOWED`.
    fn find(&self, request: &Request) -> Result<(&Route<S>, Params)> {
        let path = request.path();
        let method = request.method;
        let not_found = || {
            Error::new(
                ErrorKind::NotFound,
                errors::ROUTE_NOT_FOUND,
                format!("no route for {method} {path}"),
            )
        };
        let Some(parts) = split_path(path) else {
            return Err(not_found());
        };
        let mut path_known = false;
        for route in &self.routes {
            if let Some(params) = route.match_path(&parts) {
                if route.method == request.method {
                    return Ok((route, params));
                }
                path_known = true;
            }
        }
        Err(if path_known {
            Error::invalid_argument(
                errors::METHOD_NOT_ALLOWED,
                format!("{path} does not accept {method}"),
            )
        } else {
            not_found()
        })
    }

    /// Runs the request; returns the template it matched (for metrics) and the outcome.
    async fn dispatch(&self, request: Request) -> (&str, Result<Value>) {
        let (route, params) = match self.find(&request) {
            Ok(found) => found,
            Err(error) => return (UNMATCHED, Err(error)),
        };
        let query = request.query_string().map(parse_query).unwrap_or_default();
        let ctx = Ctx {
            request,
            params,
            query,
            state: self.state.clone(),
            ids_made: Default::default(),
        };
        // AssertUnwindSafe: after a panic only a fresh error is built; no shared state is read.
        let outcome = match AssertUnwindSafe((route.handler)(ctx)).catch_unwind().await {
            Ok(outcome) => outcome,
            Err(payload) => {
                tracing::error!(
                    service = %self.service,
                    method = %route.method,
                    route = %route.template,
                    panic = errors::panic_text(&*payload),
                    "route handler panicked"
                );
                Err(errors::handler_panicked())
            }
        };
        (&route.template, outcome)
    }
}

#[async_trait]
impl<S: Send + Sync + 'static> Handler for Router<S> {
    async fn handle(&self, request: Request) -> Response {
        let started = std::time::Instant::now();
        let method = request.method;
        let (template, outcome) = self.dispatch(request).await;
        let response = match outcome {
            Ok(value) => Response::ok(value),
            Err(error) => {
                if error.http_status() >= 500 {
                    tracing::warn!(service = %self.service, %method, route = %template, %error, "rpc failed");
                } else {
                    tracing::debug!(service = %self.service, %method, route = %template, %error, "rpc refused");
                }
                Response::error(&error)
            }
        };
        voxbin_core::telemetry::metrics().observe_rpc(
            &self.service,
            method.as_str(),
            template,
            response.status_code,
            started.elapsed().as_secs_f64(),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    struct NewAction {
        name: String,
    }

    fn router() -> Router<&'static str> {
        Router::with_state("test-router", "the-state")
            .route(
                Method::Get,
                "/v1/flows/{id}",
                |ctx: Ctx<&'static str>| async move {
                    let id = ctx.param_uuid("id")?;
                    Ok(json!({"id": id, "state": ctx.state(), "page_size": ctx.query("page_size")}))
                },
            )
            .route(
                Method::Post,
                "/v1/flows/{id}/actions",
                |ctx: Ctx<&'static str>| async move {
                    let action: NewAction = ctx.body()?;
                    Ok(json!({"flow": ctx.param("id")?, "name": action.name}))
                },
            )
            .route(Method::Get, "/v1/flows/count", |_ctx| async { Ok(3) })
            .route(
                Method::Get,
                "/v1/flows",
                |ctx: Ctx<&'static str>| async move {
                    Ok(json!({"page_size": ctx.query_as::<u32>("page_size")?}))
                },
            )
            .route(Method::Delete, "/v1/flows/{id}", |_ctx| async {
                Err::<(), _>(Error::not_found("flow"))
            })
            .route(Method::Put, "/v1/flows/{id}", explode)
    }

    async fn explode(_ctx: Ctx<&'static str>) -> Result<()> {
        panic!("route boom")
    }

    async fn call(
        router: &Router<&'static str>,
        method: Method,
        uri: &str,
        body: Value,
    ) -> Response {
        router
            .handle(Request::new(method, uri).with_data(body))
            .await
    }

    const ID: &str = "0190b3a4-7f6e-7c3a-9e1f-1234567890ab";

    #[tokio::test]
    async fn params_query_and_state_reach_the_handler() {
        let router = router();
        let uri = format!("/v1/flows/{ID}?page_size=10&x=%20y");
        let answer = call(&router, Method::Get, &uri, Value::Null)
            .await
            .into_result()
            .unwrap();
        assert_eq!(
            answer,
            json!({"id": ID, "state": "the-state", "page_size": "10"})
        );
    }

    #[tokio::test]
    async fn body_is_parsed_and_path_params_decoded() {
        let router = router();
        let body = json!({"name": "talk"});
        let response = call(&router, Method::Post, "/v1/flows/a%20b/actions/", body).await;
        assert_eq!(
            response.into_result().unwrap(),
            json!({"flow": "a b", "name": "talk"})
        );
    }

    #[tokio::test]
    async fn literal_segments_win_over_parameters() {
        let router = router();
        let response = call(&router, Method::Get, "/v1/flows/count", Value::Null).await;
        assert_eq!(response.into_result().unwrap(), json!(3));
    }

    #[tokio::test]
    async fn bad_uuid_param_is_400_naming_the_param() {
        let router = router();
        let error = call(&router, Method::Get, "/v1/flows/nope", Value::Null)
            .await
            .into_result()
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidArgument);
        assert!(error.message.contains("id"), "{error}");
    }

    #[tokio::test]
    async fn bad_body_is_400_with_serde_s_message() {
        let router = router();
        let response = call(
            &router,
            Method::Post,
            "/v1/flows/x/actions",
            json!({"nom": 1}),
        )
        .await;
        assert_eq!(response.status_code, 400);
        let error = response.into_result().unwrap_err();
        assert_eq!(error.reason, "INVALID_BODY");
        assert!(error.message.contains("missing field `name`"), "{error}");
        let missing = call(&router, Method::Post, "/v1/flows/x/actions", Value::Null).await;
        assert_eq!(missing.status_code, 400);
    }

    #[tokio::test]
    async fn bad_query_value_is_400_naming_the_param() {
        let router = router();
        let error = call(&router, Method::Get, "/v1/flows?page_size=ten", Value::Null)
            .await
            .into_result()
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidArgument);
        assert!(error.message.contains("page_size"), "{error}");
        let fine = call(&router, Method::Get, "/v1/flows?page_size=7", Value::Null).await;
        assert_eq!(fine.into_result().unwrap(), json!({"page_size": 7}));
    }

    #[tokio::test]
    async fn unknown_uri_is_404_and_wrong_method_400() {
        let router = router();
        let unknown = call(&router, Method::Get, "/v1/nothing/here", Value::Null).await;
        assert_eq!(unknown.status_code, 404);
        assert_eq!(
            unknown.into_result().unwrap_err().reason,
            errors::ROUTE_NOT_FOUND
        );
        let relative = call(&router, Method::Get, "v1/flows", Value::Null).await;
        assert_eq!(relative.status_code, 404);
        let wrong = call(&router, Method::Post, "/v1/flows", Value::Null).await;
        assert_eq!(wrong.status_code, 400);
        assert_eq!(
            wrong.into_result().unwrap_err().reason,
            errors::METHOD_NOT_ALLOWED
        );
    }

    #[tokio::test]
    async fn handler_error_becomes_its_envelope() {
        let router = router();
        let response = call(
            &router,
            Method::Delete,
            &format!("/v1/flows/{ID}"),
            Value::Null,
        )
        .await;
        assert_eq!(response.status_code, 404);
        assert_eq!(response.data_type, "voipbin_error");
        assert_eq!(
            response.into_result().unwrap_err(),
            Error::not_found("flow")
        );
    }

    #[tokio::test]
    async fn panicking_route_is_500_internal() {
        let router = router();
        let response = call(&router, Method::Put, "/v1/flows/x", Value::Null).await;
        assert_eq!(response.status_code, 500);
        assert_eq!(response.into_result().unwrap_err().reason, errors::INTERNAL);
    }

    #[tokio::test]
    async fn ping_is_always_answered() {
        let router = Router::new("flow");
        let response = router.handle(Request::new(Method::Get, "/v1/ping")).await;
        assert_eq!(
            response.into_result().unwrap(),
            json!({"pong": true, "service": "flow"})
        );
        assert_eq!(router.queue(), "bin-manager.flow-manager.request");
    }

    #[tokio::test]
    async fn metrics_use_the_route_template() {
        let router = Router::new("metrics-template-test").route(
            Method::Get,
            "/v1/flows/{id}",
            |_ctx| async { Ok(()) },
        );
        router
            .handle(Request::new(Method::Get, "/v1/flows/abc-123"))
            .await;
        let text = voxbin_core::telemetry::metrics().render();
        let ours: Vec<&str> = text
            .lines()
            .filter(|line| line.contains("metrics-template-test"))
            .collect();
        assert!(
            ours.iter().any(|line| line.contains("/v1/flows/{id}")),
            "{ours:?}"
        );
        assert!(
            !ours.iter().any(|line| line.contains("abc-123")),
            "{ours:?}"
        );
    }

    #[test]
    #[should_panic(expected = "duplicates")]
    fn duplicate_route_panics_at_startup() {
        let _ = Router::new("x")
            .route(Method::Get, "/v1/a/{id}", |_ctx| async { Ok(()) })
            .route(Method::Get, "/v1/a/{other}", |_ctx| async { Ok(()) });
    }
}
