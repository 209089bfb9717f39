//! Argon2id password hashing, off the async threads and bounded in parallelism.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Hashes and verifies passwords with Argon2id at its default cost (19 MiB, two passes): the
/// OWASP baseline, about 30-60 ms on a server core.
#[derive(Clone)]
pub struct Passwords {
    /// Each hash holds 19 MiB while it runs; a burst of logins must not multiply that without
    /// bound, nor occupy every blocking thread.
    permits: Arc<Semaphore>,
    /// Verified against when the email is unknown, so a miss costs as much time as a hit and
    /// response times do not reveal which accounts exist.
    decoy_hash: Arc<str>,
}

impl Passwords {
    pub fn new() -> Self {
        let parallelism = std::thread::available_parallelism().map_or(2, |n| n.get());
        let decoy = hash_blocking("decoy password that matches no account")
            .expect("hashing a fixed password cannot fail");
        Self { permits: Arc::new(Semaphore::new(parallelism)), decoy_hash: decoy.into() }
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || hash_blocking(&password)).await.map_err(ApiError::internal)?
    }

    /// `None` for `stored` means "no such account": the decoy is verified instead and the
    /// answer is always `false`.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        let account_exists = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.decoy_hash.to_string());
        let matches = tokio::task::spawn_blocking(move || verify_blocking(&password, &hash))
            .await
            .map_err(ApiError::internal)??;
        Ok(matches && account_exists)
    }
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

fn hash_blocking(password: &str) -> Result<String, ApiError> {
    let hash: Result<PasswordHash, _> = Argon2::default().hash_password(password.as_bytes());
    hash.map(|h| h.to_string()).map_err(|e| ApiError::internal(format!("hashing a password: {e}")))
}

fn verify_blocking(password: &str, hash: &str) -> Result<bool, ApiError> {
    let parsed = PasswordHash::new(hash)
        .map_err(|e| ApiError::internal(format!("stored password hash is unreadable: {e}")))?;
    // Parameters come from the stored hash, so raising the cost later keeps old hashes valid.
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(ApiError::internal(format!("verifying a password: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_the_right_password() {
        let passwords = Passwords::new();
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(passwords.verify("correct horse".into(), Some(hash.clone())).await.unwrap());
        assert!(!passwords.verify("wrong horse".into(), Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify_not_even_with_the_decoy_password() {
        let passwords = Passwords::new();
        let decoy = "decoy password that matches no account".to_owned();
        assert!(!passwords.verify(decoy, None).await.unwrap());
    }
}
