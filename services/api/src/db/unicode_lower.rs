//! A Unicode-aware `lower()` for SQLite connections.
//!
//! Task search lower-cases the query in Rust (Unicode) and compares it with `lower(title)` in SQL.
//! Postgres's `lower()` folds every letter its locale knows, but SQLite's built-in one folds
//! ASCII only, so on SQLite "Ölwechsel" was never found by "ölwechsel" (nor the other way round).
//! Registering an application-defined `lower` on each connection replaces the built-in one
//! there, so the same SQL behaves the same on both databases; it lower-cases as Rust does.

use std::ffi::{c_char, c_int};
use std::ptr::NonNull;

use libsqlite3_sys as ffi;

/// Registers `lower(X)` on the connection `handle`.
pub fn register(handle: NonNull<ffi::sqlite3>) -> Result<(), sqlx::Error> {
    // SAFETY: `handle` is an open connection the caller holds the lock of; the name is a
    // NUL-terminated static string; `lower` matches the xFunc signature and needs no user data.
    let rc = unsafe {
        ffi::sqlite3_create_function_v2(
            handle.as_ptr(),
            c"lower".as_ptr(),
            1,
            ffi::SQLITE_UTF8 | ffi::SQLITE_DETERMINISTIC | ffi::SQLITE_INNOCUOUS,
            std::ptr::null_mut(),
            Some(lower),
            None,
            None,
            None,
        )
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Configuration(format!("registering lower() on SQLite failed: code {rc}").into()))
    }
}

/// `lower(X)`: NULL for NULL, otherwise X as text, lower-cased by Rust's Unicode rules.
unsafe extern "C" fn lower(ctx: *mut ffi::sqlite3_context, argc: c_int, argv: *mut *mut ffi::sqlite3_value) {
    // SAFETY: SQLite calls this with `argc` (registered as 1) valid values in `argv`, and the
    // text pointer it returns stays valid, `bytes` long, until the value is next converted;
    // the result is copied by SQLite (SQLITE_TRANSIENT) before `lowered` is dropped.
    unsafe {
        if argc != 1 || ffi::sqlite3_value_type(*argv) == ffi::SQLITE_NULL {
            ffi::sqlite3_result_null(ctx);
            return;
        }
        let value = *argv;
        let text = ffi::sqlite3_value_text(value);
        let bytes = ffi::sqlite3_value_bytes(value);
        if text.is_null() {
            // A zero-length value may come back as NULL; anything else is out of memory.
            if bytes == 0 {
                ffi::sqlite3_result_text(ctx, c"".as_ptr(), 0, ffi::SQLITE_TRANSIENT());
            } else {
                ffi::sqlite3_result_error_nomem(ctx);
            }
            return;
        }
        let slice = std::slice::from_raw_parts(text, usize::try_from(bytes).unwrap_or(0));
        let lowered = String::from_utf8_lossy(slice).to_lowercase();
        match c_int::try_from(lowered.len()) {
            Ok(len) => {
                ffi::sqlite3_result_text(ctx, lowered.as_ptr().cast::<c_char>(), len, ffi::SQLITE_TRANSIENT())
            }
            Err(_) => ffi::sqlite3_result_error_toobig(ctx),
        }
    }
}
