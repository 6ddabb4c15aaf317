//! API authentication: `Authorization: Bearer <token secret>`, or for reads
//! the session cookie of a signed-in administrator.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::app::App;
use crate::domain::{ApiToken, Role, Scope};

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
            .and_then(|h| h.split_once(' '))
            // The scheme's name is case-insensitive (RFC 9110, 11.1).
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, secret)| secret.trim())
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
}

/// Who may read analytics and the catalog: a `read` or `admin` token, or a
/// signed-in administrator (the dashboard's session cookie).
pub struct Reader;

impl FromRequestParts<Arc<App>> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Reader, ApiError> {
        if !parts.headers.contains_key(header::AUTHORIZATION)
            && let Ok(Some((session, _))) =
                crate::http::pages::session_of(app, &parts.headers).await
        {
            return if session.user.role == Role::Admin {
                Ok(Reader)
            } else {
                Err(ApiError::Forbidden(
                    "only administrators may read analytics",
                ))
            };
        }
        let Token(token) = Token::from_request_parts(parts, app).await?;
        if token.scope.may_read() {
            Ok(Reader)
        } else {
            Err(ApiError::Forbidden(
                "this token's scope may not read (needs read or admin)",
            ))
        }
    }
}

/// Who may change things through the API: a token with the `admin` scope.
/// (Sessions change things through the web UI's forms, which carry a CSRF
/// token; the API takes no cookies for writes.)
pub struct Manager;

impl FromRequestParts<Arc<App>> for Manager {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Manager, ApiError> {
        let Token(token) = Token::from_request_parts(parts, app).await?;
        if token.scope == Scope::Admin {
            Ok(Manager)
        } else {
            Err(ApiError::Forbidden(
                "this token's scope may not change the catalog (needs admin)",
            ))
        }
    }
}
