//! `Form`: a web form's fields, read with the API's bounds (1 MiB, and 10 s
//! for the body to arrive, so a form that trickles in cannot hold a
//! connection), and refused with a page rather than plain text.

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::view::PageError;
use crate::http::api::body;
use crate::http::error::ApiError;

pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, _: &S) -> Result<Self, PageError> {
        let urlencoded = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !urlencoded {
            return Err(PageError::Status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Not a form",
                "Send the form as application/x-www-form-urlencoded, as a browser does; \
                 nothing was saved."
                    .into(),
            ));
        }
        let bytes = body::read(request.into_body()).await.map_err(|e| match e {
            ApiError::Timeout => PageError::Status(
                StatusCode::REQUEST_TIMEOUT,
                "Too slow",
                "The form did not arrive in time; nothing was saved.".into(),
            ),
            _ => PageError::Status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "The form is larger than the ledger takes; nothing was saved.".into(),
            ),
        })?;
        serde_urlencoded::from_bytes(&bytes).map(Form).map_err(|e| {
            PageError::Status(StatusCode::BAD_REQUEST, "Not a valid form", e.to_string())
        })
    }
}
