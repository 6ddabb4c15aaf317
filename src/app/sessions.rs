//! Web sign-in: administrators only, server-side sessions.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{Duration, Utc};

use super::{App, AppError, AppResult};
use crate::domain::{Role, User};
use crate::secrets;
use crate::store::Session;

/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);

/// Failed sign-ins that lock an account, or an address, for a while.
const FAILURES_PER_ACCOUNT: usize = 5;
const FAILURES_PER_ADDRESS: usize = 20;
const THROTTLE_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// Keys remembered at most (a few tens of MB). When full, what has expired
/// or locks nothing is forgotten; locks are kept, so that a flood of made-up
/// names cannot lift them. A key that does not fit is not remembered.
const THROTTLE_KEYS: usize = 100_000;

/// Recent failed sign-ins per account and per client address.
#[derive(Default)]
pub struct LoginThrottle {
    table: Mutex<Failures>,
}

#[derive(Default)]
struct Failures {
    by_key: HashMap<String, VecDeque<Instant>>,
    /// When the full table was last pruned.
    pruned: Option<Instant>,
}

/// The failures that lock a key (`account:…` or `address:…`).
fn limit_of(key: &str) -> usize {
    if key.starts_with("address:") {
        FAILURES_PER_ADDRESS
    } else {
        FAILURES_PER_ACCOUNT
    }
}

impl LoginThrottle {
    fn keys(username: &str, address: Option<IpAddr>) -> Vec<String> {
        let mut keys = vec![format!("account:{username}")];
        if let Some(ip) = address {
            keys.push(format!("address:{ip}"));
        }
        keys
    }

    fn table(&self) -> AppResult<std::sync::MutexGuard<'_, Failures>> {
        self.table
            .lock()
            .map_err(|_| AppError::Internal("lock poisoned".into()))
    }

    /// How long to wait when a key has used up its failures.
    fn retry_after(&self, keys: &[String], now: Instant) -> AppResult<Option<std::time::Duration>> {
        let mut table = self.table()?;
        let mut wait = None;
        for key in keys {
            if let Some(times) = table.by_key.get_mut(key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= THROTTLE_WINDOW)
                {
                    times.pop_front();
                }
                if times.len() >= limit_of(key)
                    && let Some(oldest) = times.front()
                {
                    let left = THROTTLE_WINDOW - now.duration_since(*oldest);
                    wait = Some(wait.map_or(left, |w: std::time::Duration| w.max(left)));
                }
            }
        }
        Ok(wait)
    }

    fn fail(&self, keys: &[String], now: Instant) -> AppResult<()> {
        let mut table = self.table()?;
        let table = &mut *table;
        // At most once a second: under a flood each pass reads every key.
        let due = table
            .pruned
            .is_none_or(|at| now.duration_since(at) >= std::time::Duration::from_secs(1));
        if table.by_key.len() >= THROTTLE_KEYS && due {
            table.by_key.retain(|key, times| {
                times.retain(|t| now.duration_since(*t) < THROTTLE_WINDOW);
                times.len() >= limit_of(key)
            });
            table.pruned = Some(now);
        }
        for key in keys {
            if let Some(times) = table.by_key.get_mut(key) {
                times.push_back(now);
            } else if table.by_key.len() < THROTTLE_KEYS {
                table.by_key.insert(key.clone(), VecDeque::from([now]));
            }
        }
        Ok(())
    }
}

pub enum LoginOutcome {
    /// Signed in: the cookie secret (never stored) and the session.
    Admin { secret: String, session: Session },
    /// The password matches, but members may not use the web UI.
    NotAdmin(User),
    /// Unknown user or wrong password; deliberately indistinguishable.
    Invalid,
    /// Too many failures for this account or address: wait this many seconds.
    Throttled(u64),
}

impl App {
    /// Signs in an administrator. Failures are counted per account and per
    /// client address; past the limit, sign-in waits even with the right
    /// password, so guessing gains nothing.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        address: Option<IpAddr>,
    ) -> AppResult<LoginOutcome> {
        let keys = LoginThrottle::keys(username, address);
        let now = Instant::now();
        if let Some(wait) = self.login_throttle.retry_after(&keys, now)? {
            return Ok(LoginOutcome::Throttled(wait.as_secs().max(1)));
        }
        let Some(user) = self.verify_login(username, password).await? else {
            self.login_throttle.fail(&keys, now)?;
            return Ok(LoginOutcome::Invalid);
        };
        if user.role != Role::Admin {
            return Ok(LoginOutcome::NotAdmin(user));
        }
        let secret = secrets::random_hex::<32>();
        let csrf = secrets::random_hex::<32>();
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

    /// The live session a cookie secret belongs to. A deactivated user's
    /// sessions end with the deactivation.
    pub async fn session(&self, secret: &str) -> AppResult<Option<Session>> {
        let session = self
            .store
            .session(&secrets::token_hash(secret), Utc::now())
            .await?;
        Ok(session.filter(|s| s.user.active))
    }

    pub async fn logout(&self, secret: &str) -> AppResult<()> {
        Ok(self
            .store
            .delete_session(&secrets::token_hash(secret), Utc::now())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_made_up_names_does_not_lift_a_lock() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        let dave = LoginThrottle::keys("dave", None);
        for _ in 0..FAILURES_PER_ACCOUNT {
            throttle.fail(&dave, start).unwrap();
        }
        assert!(throttle.retry_after(&dave, start).unwrap().is_some());
        for i in 0..THROTTLE_KEYS + 1_000 {
            let made_up = LoginThrottle::keys(&format!("nobody-{i}"), None);
            throttle.fail(&made_up, start).unwrap();
        }
        let wait = throttle.retry_after(&dave, start).unwrap();
        assert!(wait.is_some(), "the flood lifted dave's lock");
        let size = throttle.table.lock().unwrap().by_key.len();
        assert!(size <= THROTTLE_KEYS, "{size} keys remembered");
        // Locks still expire with their window.
        let later = start + THROTTLE_WINDOW;
        assert!(throttle.retry_after(&dave, later).unwrap().is_none());
    }
}
