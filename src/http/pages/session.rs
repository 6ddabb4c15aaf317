//! Sign-in, sign-out, and the extractor that guards every page.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};

use super::form::Form;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::view::{Nav, PageError, render};
use crate::app::{App, LoginOutcome, SESSION_LIFETIME};
use crate::domain::Role;
use crate::secrets::{constant_time_eq, random_hex};
use crate::store::Session;

pub const SESSION_COOKIE: &str = "llm_ledger_session";
/// Double-submit token of the sign-in form (there is no session yet).
const LOGIN_COOKIE: &str = "llm_ledger_login";

/// A cookie's value from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the browser reached us over HTTPS, as a TLS-terminating proxy in
/// front says (`X-Forwarded-Proto` or `Forwarded: proto=`). Trusting the
/// header is safe here: it only decides whether cookies are marked `Secure`,
/// and a client that claims HTTPS over plain HTTP only loses its own cookies.
fn over_https(headers: &HeaderMap) -> bool {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
    };
    let forwarded_proto = first(header::FORWARDED.as_str()).and_then(|element| {
        element
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| k.eq_ignore_ascii_case("proto"))
            .map(|(_, v)| v.trim_matches('"'))
    });
    [first("x-forwarded-proto"), forwarded_proto]
        .into_iter()
        .flatten()
        .any(|proto| proto.eq_ignore_ascii_case("https"))
}

fn set_cookie(name: &str, value: &str, max_age: i64, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    let cookie =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).expect("cookie values are ASCII")
}

/// A signed-in administrator.
pub struct Admin {
    pub session: Session,
    pub secret: String,
}

impl Admin {
    pub fn nav(&self, active: &'static str) -> Option<Nav> {
        Some(Nav {
            user: self.session.user.display_name.clone(),
            csrf: self.session.csrf_token.clone(),
            active,
        })
    }

    pub fn csrf(&self) -> String {
        self.session.csrf_token.clone()
    }

    /// Refuses a form without this session's CSRF token.
    pub fn check_csrf(&self, form: &HashMap<String, String>) -> Result<(), PageError> {
        match form.get("csrf") {
            Some(token) if constant_time_eq(token, &self.session.csrf_token) => Ok(()),
            _ => Err(PageError::Forbidden(
                "This form did not carry a valid security token (CSRF), so nothing was changed. Reload the page and try again.".into(),
            )),
        }
    }
}

/// The session behind a request's cookie, whoever it belongs to.
pub async fn session_of(
    app: &App,
    headers: &HeaderMap,
) -> Result<Option<(Session, String)>, PageError> {
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(app.session(secret).await?.map(|s| (s, secret.to_string())))
}

impl FromRequestParts<Arc<App>> for Admin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Admin, PageError> {
        let Some((session, secret)) = session_of(app, &parts.headers).await? else {
            return Err(PageError::SignIn);
        };
        if session.user.role != Role::Admin {
            return Err(PageError::Forbidden(
                "Only administrators can use the web UI. Your account is a member account.".into(),
            ));
        }
        Ok(Admin { session, secret })
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<Nav>,
    error: Option<String>,
    username: String,
    csrf: String,
}

fn login_page(
    status: StatusCode,
    error: Option<String>,
    username: String,
    https: bool,
) -> Response {
    let csrf = random_hex::<32>();
    let mut response = render(
        status,
        &LoginPage {
            nav: None,
            error,
            username,
            csrf: csrf.clone(),
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, &csrf, 3600, https),
    );
    response
}

pub async fn show_login(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let Some((session, _)) = session_of(&app, &headers).await?
        && session.user.role == Role::Admin
    {
        return Ok(Redirect::to("/analytics").into_response());
    }
    Ok(login_page(
        StatusCode::OK,
        None,
        String::new(),
        over_https(&headers),
    ))
}

pub async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let https = over_https(&headers);
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    let given = form.get("csrf").map(String::as_str).unwrap_or("");
    if expected.is_empty() || !constant_time_eq(expected, given) {
        return Ok(login_page(
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired. Please try again.".into()),
            String::new(),
            https,
        ));
    }
    let username = form.get("username").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    match app.login(&username, &password, Some(peer.ip())).await? {
        LoginOutcome::Admin { secret, .. } => {
            let mut response = Redirect::to("/analytics").into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(
                    SESSION_COOKIE,
                    &secret,
                    SESSION_LIFETIME.num_seconds(),
                    https,
                ),
            );
            headers.append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", 0, https));
            Ok(response)
        }
        LoginOutcome::NotAdmin(user) => Err(PageError::Forbidden(format!(
            "{} is a member. Only administrators can sign in to the web UI; members' usage is recorded by the programs they use.",
            user.display_name
        ))),
        LoginOutcome::Invalid => Ok(login_page(
            StatusCode::UNAUTHORIZED,
            Some("Unknown user name or wrong password.".into()),
            username,
            https,
        )),
        LoginOutcome::Throttled(seconds) => {
            let minutes = seconds.div_ceil(60);
            let mut response = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!(
                    "Too many failed sign-ins. Try again in {minutes} minute(s)."
                )),
                username,
                https,
            );
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
    }
}

pub async fn logout(
    State(app): State<Arc<App>>,
    admin: Admin,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    admin.check_csrf(&form)?;
    app.logout(&admin.secret).await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, over_https(&headers)),
    );
    Ok(response)
}
