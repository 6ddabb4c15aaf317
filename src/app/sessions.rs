//! Web sign-in: administrators only, server-side sessions.

use chrono::{Duration, Utc};

use super::{App, AppResult};
use crate::domain::{Role, User};
use crate::secrets;
use crate::store::Session;

/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);

pub enum LoginOutcome {
    /// Signed in: the cookie secret (never stored) and the session.
    Admin { secret: String, session: Session },
    /// The password matches, but members may not use the web UI.
    NotAdmin(User),
    /// Unknown user or wrong password; deliberately indistinguishable.
    Invalid,
}

impl App {
    pub async fn login(&self, username: &str, password: &str) -> AppResult<LoginOutcome> {
        let Some(user) = self.verify_login(username, password).await? else {
            return Ok(LoginOutcome::Invalid);
        };
        if user.role != Role::Admin {
            return Ok(LoginOutcome::NotAdmin(user));
        }
        let secret = secrets::new_token_secret();
        let csrf = secrets::new_token_secret();
        let expires_at = Utc::now() + SESSION_LIFETIME;
        self.store
            .create_session(
                &secrets::token_hash(&secret),
                &user.username,
                &csrf,
                expires_at,
            )
            .await?;
        let session = Session {
            user,
            csrf_token: csrf,
            expires_at,
        };
        Ok(LoginOutcome::Admin { secret, session })
    }

    /// The live session a cookie secret belongs to.
    pub async fn session(&self, secret: &str) -> AppResult<Option<Session>> {
        Ok(self
            .store
            .session(&secrets::token_hash(secret), Utc::now())
            .await?)
    }

    pub async fn logout(&self, secret: &str) -> AppResult<()> {
        Ok(self
            .store
            .delete_session(&secrets::token_hash(secret), Utc::now())
            .await?)
    }
}
