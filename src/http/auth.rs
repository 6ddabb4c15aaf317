//! API authentication: `Authorization: Bearer <token secret>`.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::app::App;
use crate::domain::ApiToken;

/// The active API token a request presented.
pub struct Token(pub ApiToken);

impl FromRequestParts<Arc<App>> for Token {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Token, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized(
                "an API token is required: Authorization: Bearer <token>",
            ))?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(ApiError::Unauthorized(
                "the Authorization header must be: Bearer <token>",
            ))?;
        match app.authenticate(secret).await? {
            Some(token) => Ok(Token(token)),
            None => Err(ApiError::Unauthorized(
                "the API token is unknown or revoked",
            )),
        }
    }
}

impl Token {
    pub fn require_ingest(&self) -> Result<(), ApiError> {
        if self.0.scope.may_ingest() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this token's scope may not record usage (needs ingest or admin)",
            ))
        }
    }

    pub fn require_read(&self) -> Result<(), ApiError> {
        if self.0.scope.may_read() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this token's scope may not read (needs read or admin)",
            ))
        }
    }
}
