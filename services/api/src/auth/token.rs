//! Access tokens: HS256 JWTs with expiry, issuer and audience, all checked on every request.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::UserId;
use crate::config::JwtSecret;
use crate::error::ApiError;

pub const ISSUER: &str = "todo-api";
pub const AUDIENCE: &str = "todo-cloud";
pub const TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Tolerated clock difference between the replicas that issue and check a token.
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    pub iss: String,
    pub aud: String,
}

#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Expired => ApiError::Unauthorized("the token has expired; sign in again"),
            TokenError::Invalid => ApiError::Unauthorized("the token is invalid"),
        }
    }
}

impl Tokens {
    pub fn new(secret: &JwtSecret) -> Self {
        // Only HS256 is accepted: the algorithm named in a token's header is never trusted to
        // choose how it is verified (this also refuses `alg: none`).
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Self {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            validation,
        }
    }

    pub fn issue(&self, user: UserId) -> Result<String, ApiError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user.0.to_string(),
            iat: now,
            exp: now + TOKEN_TTL.as_secs(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<UserId, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            }
        })?;
        data.claims.sub.parse::<i64>().map(UserId).map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(secret: &str) -> Tokens {
        let config =
            crate::config::Config::from_lookup(|k| (k == "JWT_SECRET").then(|| secret.to_owned())).unwrap();
        Tokens::new(&config.jwt_secret)
    }

    const SECRET: &str = "an-hs256-secret-of-at-least-32-bytes!";

    fn sign(claims: &Claims, alg: Algorithm, secret: &str) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
    }

    fn claims() -> Claims {
        let now = jsonwebtoken::get_current_timestamp();
        Claims { sub: "7".into(), iat: now, exp: now + 600, iss: ISSUER.into(), aud: AUDIENCE.into() }
    }

    #[test]
    fn issued_tokens_verify() {
        let t = tokens(SECRET);
        assert_eq!(t.verify(&t.issue(UserId(42)).unwrap()), Ok(UserId(42)));
    }

    #[test]
    fn wrong_issuer_audience_algorithm_or_subject_is_rejected() {
        let t = tokens(SECRET);
        let mut c = claims();
        c.iss = "someone-else".into();
        assert_eq!(t.verify(&sign(&c, Algorithm::HS256, SECRET)), Err(TokenError::Invalid));
        let mut c = claims();
        c.aud = "another-app".into();
        assert_eq!(t.verify(&sign(&c, Algorithm::HS256, SECRET)), Err(TokenError::Invalid));
        // Same secret, but not the pinned algorithm.
        assert_eq!(t.verify(&sign(&claims(), Algorithm::HS512, SECRET)), Err(TokenError::Invalid));
        let mut c = claims();
        c.sub = "admin".into();
        assert_eq!(t.verify(&sign(&c, Algorithm::HS256, SECRET)), Err(TokenError::Invalid));
    }

    #[test]
    fn expiry_allows_only_the_leeway() {
        let t = tokens(SECRET);
        let mut c = claims();
        c.exp = jsonwebtoken::get_current_timestamp() - 5;
        assert_eq!(t.verify(&sign(&c, Algorithm::HS256, SECRET)), Ok(UserId(7)));
        c.exp = jsonwebtoken::get_current_timestamp() - LEEWAY_SECS - 5;
        assert_eq!(t.verify(&sign(&c, Algorithm::HS256, SECRET)), Err(TokenError::Expired));
    }
}
