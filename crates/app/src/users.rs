//! Users of the web pages and API (issue 11): roles, Argon2id password hashes, API tokens,
//! server-side sessions and the audit log, over the control database's tables
//! (`archive/src/users.rs`).
//!
//! There is no default user and no default password: with no user the web server stays on
//! loopback (`web::check_bind`). What each role may do is the web layer's route table; here a
//! role is only ordered (`admin` can do what `operator` can).

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use dcmdisc_archive::{AuditRow, UserRow};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::control::ControlDb;
use crate::error::AppError;

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 8;
/// How long a session lasts after login.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// The prefix of API tokens, so one found in a log or a file is recognised as ours.
const TOKEN_PREFIX: &str = "dcmd_";

/// What a user may do: an operator makes, cancels and retries discs and pauses burners; an
/// admin also manages remote AEs, users and retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Operator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Role, AppError> {
        match s {
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            _ => Err(AppError::BadRole(s.to_string())),
        }
    }
}

/// A user name: 1 to 64 of `A-Z a-z 0-9 . _ -` (it appears in logs, the audit and URLs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl FromStr for UserName {
    type Err = AppError;
    fn from_str(s: &str) -> Result<UserName, AppError> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(UserName(s.to_string()))
        } else {
            Err(AppError::BadUserName(s.to_string()))
        }
    }
}

/// A user as listed (no hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub has_token: bool,
    pub created: String,
}

fn user(row: UserRow) -> Option<User> {
    Some(User {
        role: row.role.parse().ok()?,
        name: row.name,
        has_token: row.has_token,
        created: row.created,
    })
}

/// A logged-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub role: Role,
    /// The synchronizer token every state-changing form of this session must carry.
    pub csrf: String,
    pub expires_ms: i64,
}

/// 256 random bits, hex.
pub fn random_secret() -> Result<String, AppError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| AppError::Random(e.to_string()))?;
    Ok(hex(&b))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The SHA-256 of a session id or API token, hex: what the database keeps of it.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// An Argon2id PHC string of `password` (the crate's default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AppError::WeakPassword(MIN_PASSWORD));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AppError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::PasswordHash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::PasswordHash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (a malformed hash matches nothing).
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash no password matches, verified against for unknown users so that a login's time
/// does not tell whether the name exists.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password(&random_secret().unwrap_or_else(|_| "decoy-password".into()))
            .unwrap_or_default()
    })
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl ControlDb {
    pub fn add_user(&self, name: &UserName, role: Role, password: &str) -> Result<(), AppError> {
        let hash = hash_password(password)?;
        if self
            .control()
            .add_user(name.as_str(), role.as_str(), &hash)?
        {
            Ok(())
        } else {
            Err(AppError::UserExists(name.to_string()))
        }
    }

    pub fn remove_user(&self, name: &UserName) -> Result<(), AppError> {
        if self.control().remove_user(name.as_str())? {
            Ok(())
        } else {
            Err(AppError::NoSuchUser(name.to_string()))
        }
    }

    /// Sets a new password; the user's sessions end.
    pub fn set_password(&self, name: &UserName, password: &str) -> Result<(), AppError> {
        let hash = hash_password(password)?;
        if self.control().set_password(name.as_str(), &hash)? {
            Ok(())
        } else {
            Err(AppError::NoSuchUser(name.to_string()))
        }
    }

    /// Makes a new API token for `name` (replacing any earlier one) and answers it: it is
    /// shown once, only its hash is kept.
    pub fn new_token(&self, name: &UserName) -> Result<String, AppError> {
        let token = format!("{TOKEN_PREFIX}{}", random_secret()?);
        if self
            .control()
            .set_token(name.as_str(), &secret_hash(&token))?
        {
            Ok(token)
        } else {
            Err(AppError::NoSuchUser(name.to_string()))
        }
    }

    pub fn users(&self) -> Result<Vec<User>, AppError> {
        Ok(self
            .control()
            .users()?
            .into_iter()
            .filter_map(user)
            .collect())
    }

    pub fn has_users(&self) -> Result<bool, AppError> {
        Ok(self.control().user_count()? > 0)
    }

    /// The user if `password` is theirs.
    pub fn authenticate(&self, name: &str, password: &str) -> Result<Option<User>, AppError> {
        match self.control().user(name)? {
            Some(row) if verify_password(&row.password_hash, password) => Ok(user(row)),
            Some(_) => Ok(None),
            None => {
                let _ = verify_password(decoy_hash(), password);
                Ok(None)
            }
        }
    }

    /// The user whose API token this is.
    pub fn user_by_token(&self, token: &str) -> Result<Option<User>, AppError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        Ok(self
            .control()
            .user_by_token(&secret_hash(token))?
            .and_then(user))
    }

    /// Starts a session for `user` from `peer`: answers its id (the cookie's value).
    pub fn new_session(&self, user: &str, peer: &str) -> Result<String, AppError> {
        let id = random_secret()?;
        let csrf = random_secret()?;
        let now = now_ms();
        let expires = now + SESSION_LIFETIME.as_millis() as i64;
        self.control()
            .add_session(&secret_hash(&id), user, &csrf, now, expires, peer)?;
        Ok(id)
    }

    /// The live session with this id.
    pub fn session(&self, id: &str) -> Result<Option<Session>, AppError> {
        Ok(self
            .control()
            .session(&secret_hash(id), now_ms())?
            .and_then(|s| {
                Some(Session {
                    role: s.role.parse().ok()?,
                    user: s.user,
                    csrf: s.csrf,
                    expires_ms: s.expires_ms,
                })
            }))
    }

    pub fn end_session(&self, id: &str) -> Result<(), AppError> {
        Ok(self.control().remove_session(&secret_hash(id))?)
    }

    /// Records a state-changing action: who (`actor`), what, from where, how it ended.
    pub fn audit(
        &self,
        actor: &str,
        action: &str,
        peer: &str,
        outcome: &str,
    ) -> Result<(), AppError> {
        Ok(self.control().audit(actor, action, peer, outcome)?)
    }

    pub fn audit_log(&self, limit: u32) -> Result<Vec<AuditRow>, AppError> {
        Ok(self.control().audit_log(limit)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct horsf"));
        assert!(!verify_password("not a hash", "correct horse"));
        // Salted: the same password hashes differently.
        assert_ne!(h, hash_password("correct horse").unwrap());
        assert!(matches!(
            hash_password("short"),
            Err(AppError::WeakPassword(_))
        ));
    }

    #[test]
    fn names_and_roles_are_checked() {
        assert!("ops-1.a_b".parse::<UserName>().is_ok());
        for bad in ["", "a b", "ä", "x/y", &"a".repeat(65)] {
            assert!(bad.parse::<UserName>().is_err(), "{bad}");
        }
        assert!(Role::Admin.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Admin));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn secrets_are_256_bits() {
        let a = random_secret().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_secret().unwrap());
    }
}
