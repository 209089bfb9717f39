use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::json;
use todo_api::auth::{AUDIENCE, Claims, ISSUER};
use todo_api::http::Access;

use crate::backend_test;
use crate::helpers::{JWT_SECRET, PASSWORD, TestApp, TestDb, error_code};

backend_test!(
    async fn signup_returns_a_token_and_the_normalised_user(db) {
        let app = TestApp::spawn(&db).await;
        let (status, body) = app.signup("  Ada.Lovelace@Example.COM ", PASSWORD).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let user = &body["user"];
        assert_eq!(user["email"], "ada.lovelace@example.com");
        assert!(user["id"].as_i64().is_some_and(|id| id > 0), "{body}");
        assert!(user["created_at"].as_str().unwrap().ends_with('Z'), "{body}");
        assert_eq!(user.as_object().unwrap().len(), 3, "no password hash or extras: {body}");

        let token = body["token"].as_str().unwrap();
        let (status, me) = app.get("/api/auth/me", token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&me, user);
        app.stop().await;
    }
);

backend_test!(
    async fn duplicate_signup_is_a_conflict_whatever_the_case(db) {
        let app = TestApp::spawn(&db).await;
        assert_eq!(app.signup("grace@example.com", PASSWORD).await.0, StatusCode::CREATED);
        for again in ["grace@example.com", "GRACE@example.com", " grace@EXAMPLE.com"] {
            let (status, body) = app.signup(again, "another password").await;
            assert_eq!(status, StatusCode::CONFLICT, "{again}: {body}");
            assert_eq!(error_code(&body), "email_taken");
        }
        // The original password still works: the duplicate changed nothing.
        assert_eq!(app.login("grace@example.com", PASSWORD).await.0, StatusCode::OK);
        app.stop().await;
    }
);

backend_test!(
    async fn signup_enforces_the_email_and_password_rules(db) {
        let app = TestApp::spawn(&db).await;
        let cases = [
            (json!({"email": "not-an-email", "password": PASSWORD}), "email"),
            (json!({"email": "a@example.com", "password": "short"}), "at least 8"),
            (json!({"email": "a@example.com", "password": "p".repeat(129)}), "at most 128"),
            (json!({"email": "a@example.com"}), "missing field `password`"),
            (json!({"email": "a@example.com", "password": PASSWORD, "admin": true}), "unknown field `admin`"),
        ];
        for (body, expected) in cases {
            let (status, answer) = app
                .request(reqwest::Method::POST, "/api/auth/signup", None, Some(body.clone()))
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
            assert_eq!(error_code(&answer), "validation_error");
            let message = answer["error"]["message"].as_str().unwrap();
            assert!(message.contains(expected), "{body}: {message}");
        }
        app.stop().await;
    }
);

backend_test!(
    async fn login_returns_the_same_shape_as_signup(db) {
        let app = TestApp::spawn(&db).await;
        let (_, created) = app.signup("linus@example.com", PASSWORD).await;
        let (status, body) = app.login("Linus@Example.com", PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["user"], created["user"]);
        let (status, _) = app.get("/api/auth/me", body["token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        app.stop().await;
    }
);

backend_test!(
    async fn bad_credentials_do_not_say_which_part_was_wrong(db) {
        let app = TestApp::spawn(&db).await;
        app.signup("margaret@example.com", PASSWORD).await;
        let (s1, wrong_password) = app.login("margaret@example.com", "not the password").await;
        let (s2, unknown_email) = app.login("nobody@example.com", PASSWORD).await;
        let (s3, impossible_email) = app.login("nobody", PASSWORD).await;
        for (status, body) in [(s1, &wrong_password), (s2, &unknown_email), (s3, &impossible_email)] {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
            assert_eq!(error_code(body), "invalid_credentials");
        }
        assert_eq!(wrong_password, unknown_email);
        assert_eq!(wrong_password, impossible_email);
        app.stop().await;
    }
);

fn sign(claims: &Claims, alg: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    // JWT segments are unpadded base64url; written out here to build a token no library would.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

backend_test!(
    async fn every_kind_of_bad_token_is_refused(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let now = jsonwebtoken::get_current_timestamp();
        let claims = |sub: String, exp: u64, iss: &str, aud: &str| Claims {
            sub,
            iat: now,
            exp,
            iss: iss.into(),
            aud: aud.into(),
        };
        let me = user.id.to_string();
        let valid = claims(me.clone(), now + 600, ISSUER, AUDIENCE);
        // Sanity: a token we sign the way the server does is accepted.
        let good = sign(&valid, Algorithm::HS256, JWT_SECRET);
        assert_eq!(app.get("/api/tasks", &good).await.0, StatusCode::OK);

        let alg_none = format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT"}"#),
            b64(serde_json::to_string(&valid).unwrap().as_bytes())
        );
        let bad_tokens = [
            ("expired", sign(&claims(me.clone(), now - 3600, ISSUER, AUDIENCE), Algorithm::HS256, JWT_SECRET)),
            ("wrongly signed", sign(&valid, Algorithm::HS256, "another-secret-that-is-long-enough!!")),
            ("alg none", alg_none),
            ("HS512 with the right secret", sign(&valid, Algorithm::HS512, JWT_SECRET)),
            ("foreign issuer", sign(&claims(me.clone(), now + 600, "evil", AUDIENCE), Algorithm::HS256, JWT_SECRET)),
            ("foreign audience", sign(&claims(me.clone(), now + 600, ISSUER, "other"), Algorithm::HS256, JWT_SECRET)),
            ("tampered payload", {
                let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
                // Someone else's id under the original signature.
                let other = (user.id + 1000).to_string();
                parts[1] = b64(serde_json::to_string(&claims(other, now + 600, ISSUER, AUDIENCE)).unwrap().as_bytes());
                parts.join(".")
            }),
            ("garbage", "not.a.jwt".to_owned()),
        ];
        for (what, token) in &bad_tokens {
            for path in ["/api/auth/me", "/api/tasks"] {
                let (status, body) = app.get(path, token).await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{what} on {path}: {body}");
                assert_eq!(error_code(&body), "unauthorized", "{what}");
            }
        }
        let (status, body) = app.get("/api/auth/me", "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

        // No token at all, and a non-bearer scheme.
        let response = app.client.get(app.url("/api/tasks")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        let response = app
            .client
            .get(app.url("/api/tasks"))
            .basic_auth(&user.email, Some(PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

        let (_, expired) = app.get("/api/auth/me", &bad_tokens[0].1).await;
        assert!(expired["error"]["message"].as_str().unwrap().contains("expired"), "{expired}");
        app.stop().await;
    }
);

backend_test!(
    async fn a_token_for_an_account_the_database_no_longer_has_signs_out_with_its_own_code(db) {
        // A browser keeps its token while the server's database is wiped: the same secret
        // signs tokens, but the account is gone.
        let before = TestApp::spawn(&db).await;
        let user = before.new_user().await;
        before.create_task(&user, "written before the reset").await;
        before.stop().await;
        let wiped = TestDb::new(db.backend.clone()).await;
        let app = TestApp::spawn(&wiped).await;

        let mut checked = 0;
        for endpoint in todo_api::http::endpoints() {
            if !matches!(endpoint.access, Access::Read | Access::Write) {
                continue;
            }
            let path = endpoint.path.replace("{id}", "1");
            let body = (endpoint.method != Method::GET && endpoint.method != Method::DELETE)
                .then(|| json!({ "title": "after the reset", "message": "add buy milk", "completed": true }));
            let (status, body) =
                app.request(endpoint.method.clone(), &path, Some(&user.token), body).await;
            let what = format!("{} {path}", endpoint.method);
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
            assert_eq!(error_code(&body), "account_not_found", "{what}");
            checked += 1;
        }
        assert!(checked >= 10, "only {checked} authenticated routes");

        // Nothing was written for the missing account, and signing up again works.
        let fresh = app.new_user().await;
        assert!(app.task_state(&fresh).await.is_empty());
        app.stop().await;
        wiped.cleanup().await;
    }
);
