//! Resources that map one to one onto a service RPC: parse, authorise, one bus call, answer.

use crate::auth::{Identity, Permission};
use crate::limits::json_depth;
use crate::middleware::RequestId;
use crate::{ApiError, ApiState};
use axum::body::Body;
use axum::extract::{OriginalUri, State};
use axum::http::request::Parts;
use axum::http::{Method as HttpMethod, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::{Extension, Json, Router};
use voxbin_bus::{BusClient, Method};
use voxbin_core::Error;
use voxbin_svc_kit::Scope;

/// Who may call a route.
#[derive(Clone, Copy, Debug)]
enum Need {
    /// Customer admin or manager (access keys count as admin).
    AdminOrManager,
    /// Customer admin only.
    Admin,
    /// The project super-admin only; others are refused (a collection).
    SuperAdmin,
    /// The project super-admin only; to others the item does not exist, so ids do not leak.
    SuperAdminOrHidden,
    /// Admin or manager, on the caller's own customer record (`/customer`), whatever their scope.
    OwnAccount,
}

/// One public route and where it goes.
struct Spec {
    path: &'static str,
    methods: &'static [HttpMethod],
    service: &'static str,
    need: Need,
}

const CRUD_LIST: &[HttpMethod] = &[HttpMethod::GET, HttpMethod::POST];
const CRUD_ONE: &[HttpMethod] = &[HttpMethod::GET, HttpMethod::PUT, HttpMethod::DELETE];
const GET: &[HttpMethod] = &[HttpMethod::GET];
const POST: &[HttpMethod] = &[HttpMethod::POST];
const PUT: &[HttpMethod] = &[HttpMethod::PUT];
const GET_DELETE: &[HttpMethod] = &[HttpMethod::GET, HttpMethod::DELETE];
const POST_DELETE: &[HttpMethod] = &[HttpMethod::POST, HttpMethod::DELETE];

/// The resources of the REST API that are plain forwards.
const SPECS: &[Spec] = &[
    Spec {
        path: "/v1.0/customer",
        methods: &[HttpMethod::GET, HttpMethod::PUT],
        service: "customer",
        need: Need::OwnAccount,
    },
    Spec {
        path: "/v1.0/customers",
        methods: CRUD_LIST,
        service: "customer",
        need: Need::SuperAdmin,
    },
    Spec {
        path: "/v1.0/customers/{id}",
        methods: CRUD_ONE,
        service: "customer",
        need: Need::SuperAdminOrHidden,
    },
    Spec {
        path: "/v1.0/accesskeys",
        methods: CRUD_LIST,
        service: "customer",
        need: Need::Admin,
    },
    Spec {
        path: "/v1.0/accesskeys/{id}",
        methods: CRUD_ONE,
        service: "customer",
        need: Need::Admin,
    },
    Spec {
        path: "/v1.0/agents/{id}/password",
        methods: PUT,
        service: "agent",
        need: Need::Admin,
    },
    Spec {
        path: "/v1.0/flows",
        methods: CRUD_LIST,
        service: "flow",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/flows/{id}",
        methods: CRUD_ONE,
        service: "flow",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/activeflows",
        methods: GET,
        service: "flow",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/activeflows/{id}",
        methods: GET,
        service: "flow",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/activeflows/{id}/stop",
        methods: POST,
        service: "flow",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/numbers",
        methods: CRUD_LIST,
        service: "number",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/numbers/{id}",
        methods: CRUD_ONE,
        service: "number",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/numbers/{id}/flow_ids",
        methods: PUT,
        service: "number",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/tags",
        methods: CRUD_LIST,
        service: "tag",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/tags/{id}",
        methods: CRUD_ONE,
        service: "tag",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/extensions",
        methods: CRUD_LIST,
        service: "registrar",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/extensions/{id}",
        methods: CRUD_ONE,
        service: "registrar",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/trunks",
        methods: CRUD_LIST,
        service: "registrar",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/trunks/{id}",
        methods: CRUD_ONE,
        service: "registrar",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/providers",
        methods: CRUD_LIST,
        service: "route",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/providers/{id}",
        methods: CRUD_ONE,
        service: "route",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/routes",
        methods: CRUD_LIST,
        service: "route",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/routes/{id}",
        methods: CRUD_ONE,
        service: "route",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/outplans",
        methods: CRUD_LIST,
        service: "campaign",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/outplans/{id}",
        methods: CRUD_ONE,
        service: "campaign",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/calls",
        methods: CRUD_LIST,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/calls/{id}",
        methods: GET_DELETE,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/calls/{id}/hangup",
        methods: POST,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/calls/{id}/talk",
        methods: POST,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/calls/{id}/hold",
        methods: POST_DELETE,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/calls/{id}/moh",
        methods: POST_DELETE,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/calls/{id}/mute",
        methods: POST_DELETE,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/calls/{id}/silence",
        methods: POST_DELETE,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/calls/{id}/recording_start",
        methods: POST,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/calls/{id}/recording_stop",
        methods: POST,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/groupcalls",
        methods: CRUD_LIST,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/groupcalls/{id}",
        methods: GET_DELETE,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/groupcalls/{id}/hangup",
        methods: POST,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/recordings",
        methods: GET,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/recordings/{id}",
        methods: GET_DELETE,
        service: "call",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/timelines/{resource_type}/{resource_id}/events",
        methods: GET,
        service: "timeline",
        need: Need::AdminOrManager,
    },
    Spec {
        path: "/v1.0/aggregated-events",
        methods: GET,
        service: "timeline",
        need: Need::AdminOrManager,
    },
];

/// The forwarded routes.
pub fn routes() -> Router<ApiState> {
    let mut router = Router::new();
    for spec in SPECS {
        let filter = spec.methods.iter().fold(None::<MethodFilter>, |acc, m| {
            let f = MethodFilter::try_from(m.clone()).unwrap_or(MethodFilter::GET);
            Some(acc.map_or(f, |a| a.or(f)))
        });
        let Some(filter) = filter else { continue };
        let (service, need) = (spec.service, spec.need);
        router = router.route(
            spec.path,
            on(filter, move |state, rid, identity, method, uri, body| {
                forward(service, need, state, rid, identity, method, uri, body)
            }),
        );
    }
    router
}

/// A bus client that carries the request id of this HTTP request.
pub fn bus_for(state: &ApiState, parts: &Parts) -> BusClient {
    match parts.extensions.get::<RequestId>() {
        Some(RequestId(id)) => state.bus.with_request_id(id.clone()),
        None => state.bus.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn forward(
    service: &'static str,
    need: Need,
    State(state): State<ApiState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    identity: Identity,
    method: HttpMethod,
    OriginalUri(uri): OriginalUri,
    body: Body,
) -> Result<Response, ApiError> {
    match need {
        Need::AdminOrManager | Need::OwnAccount => {
            identity.require(Permission::ADMIN_OR_MANAGER)?
        }
        Need::Admin => identity.require(Permission::CUSTOMER_ADMIN)?,
        Need::SuperAdmin if !identity.is_super_admin() => {
            return Err(ApiError::new(Error::permission_denied(
                "Only the project super-admin manages customers.",
            )))
        }
        Need::SuperAdminOrHidden if !identity.is_super_admin() => {
            return Err(ApiError::new(Error::not_found("customer")))
        }
        Need::SuperAdmin | Need::SuperAdminOrHidden => {}
    }
    let rpc_method = match method {
        HttpMethod::GET => Method::Get,
        HttpMethod::POST => Method::Post,
        HttpMethod::PUT => Method::Put,
        HttpMethod::DELETE => Method::Delete,
        _ => {
            return Err(ApiError::new(Error::invalid_argument(
                "METHOD_NOT_ALLOWED",
                "Method not allowed.",
            )))
        }
    };
    let data = read_json_body(&state, body).await?;
    let (path, scope) = rpc_target(need, uri.path(), &identity);
    let rpc_uri = with_query(&path, uri.query(), scope);
    let answer = state
        .bus
        .with_request_id(rid)
        .call_raw(service, rpc_method, &rpc_uri, data)
        .await?;
    let status = StatusCode::from_u16(answer.status_code).unwrap_or(StatusCode::OK);
    let value = answer.into_result()?;
    Ok((status, Json(value)).into_response())
}

/// The RPC path and scope of a public request: `/v1.0/flows/x` -> `/v1/flows/x` in the
/// caller's scope, and `/customer` -> the caller's own record in the customer's view, even for
/// the super-admin.
fn rpc_target(need: Need, public: &str, identity: &Identity) -> (String, Scope) {
    match need {
        Need::OwnAccount => (
            format!("/v1/customers/{}", identity.customer_id),
            Scope::Customer(identity.customer_id),
        ),
        _ => (
            format!("/v1{}", public.strip_prefix("/v1.0").unwrap_or(public)),
            identity.scope(),
        ),
    }
}

/// The client's query without credentials or scope, then the caller's scope.
fn with_query(path: &str, query: Option<&str>, scope: Scope) -> String {
    let mut parts: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|kv| {
            let k = kv.split('=').next().unwrap_or("");
            !kv.is_empty() && !matches!(k, "token" | "accesskey" | "customer_id")
        })
        .collect();
    let scope = scope.query();
    if !scope.is_empty() {
        parts.push(&scope);
    }
    if parts.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// How long a request body may take to arrive.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads a JSON body within the size and depth limits; an empty body is `None`.
pub async fn read_json_body(
    state: &ApiState,
    body: Body,
) -> Result<Option<serde_json::Value>, ApiError> {
    let limit = state.config.api.body_limit_bytes as usize;
    // A client that announces a body and never sends it must not hold the request forever.
    let read = tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, limit))
        .await
        .map_err(|_| {
            ApiError::with_status(
                StatusCode::REQUEST_TIMEOUT,
                Error::invalid_argument("BODY_TIMEOUT", "The request body did not arrive in time."),
            )
        })?;
    let bytes = read.map_err(|_| {
        ApiError::with_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            Error::invalid_argument(
                "BODY_TOO_LARGE",
                format!("The request body is larger than {limit} bytes."),
            ),
        )
    })?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    let max_depth = state.config.api.json_depth_limit as usize;
    if json_depth(&bytes) > max_depth {
        return Err(ApiError::new(Error::invalid_argument(
            "JSON_TOO_DEEP",
            format!("The JSON body nests deeper than {max_depth} levels."),
        )));
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        ApiError::new(Error::invalid_argument(
            "INVALID_JSON",
            format!("The body is not valid JSON: {e}"),
        ))
    })
}

/// The forwarded operations as (METHOD, contract path), e.g. ("GET", "/flows/{id}").
pub fn served_operations() -> Vec<(String, String)> {
    SPECS
        .iter()
        .flat_map(|s| {
            let path = s.path.strip_prefix("/v1.0").unwrap_or(s.path).to_string();
            s.methods
                .iter()
                .map(move |m| (m.as_str().to_string(), path.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Via;
    use uuid::Uuid;

    fn who(perm: u64) -> Identity {
        Identity {
            customer_id: Uuid::nil(),
            permission: perm,
            via: Via::AccessKey { id: Uuid::nil() },
        }
    }

    #[test]
    fn query_drops_credentials_and_client_scope() {
        let id = who(Permission::CUSTOMER_ADMIN);
        let q = with_query(
            "/v1/flows",
            Some("page_size=5&token=x&customer_id=evil&accesskey=k"),
            id.scope(),
        );
        assert_eq!(
            q,
            format!("/v1/flows?page_size=5&customer_id={}", Uuid::nil())
        );
        let admin = who(Permission::PROJECT_SUPER_ADMIN);
        assert_eq!(
            with_query("/v1/flows", Some("customer_id=evil"), admin.scope()),
            "/v1/flows"
        );
    }

    #[test]
    fn paths_map_to_rpc_uris() {
        let id = who(Permission::CUSTOMER_ADMIN);
        let path = |need, public| rpc_target(need, public, &id).0;
        assert_eq!(
            path(Need::AdminOrManager, "/v1.0/flows/abc"),
            "/v1/flows/abc"
        );
        assert_eq!(
            path(Need::OwnAccount, "/v1.0/customer"),
            format!("/v1/customers/{}", Uuid::nil())
        );
        let admin = who(Permission::PROJECT_SUPER_ADMIN);
        assert_eq!(
            rpc_target(Need::OwnAccount, "/v1.0/customer", &admin).1,
            Scope::Customer(admin.customer_id)
        );
    }
}
