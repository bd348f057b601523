//! `Identity` as an axum extractor: authenticate, then apply the per-customer rate limit.

use super::{find_credential, Identity};
use crate::{ApiError, ApiState};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use voxbin_core::Error;

impl FromRequestParts<ApiState> for Identity {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let credential = find_credential(parts).ok_or_else(|| {
            ApiError::new(Error::unauthenticated(
                "Authentication is required: a token or an accesskey.",
            ))
        })?;
        let bus = crate::routes::bus_for(state, parts);
        let identity = state.auth.identify(&bus, &credential).await?;
        if let Err(wait) = state.limits.check_customer(identity.customer_id).await {
            return Err(ApiError::rate_limited(wait));
        }
        Ok(identity)
    }
}
