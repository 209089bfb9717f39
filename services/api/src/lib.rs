//! todo-api: accounts, tasks and chat conversations over HTTP, stored in Postgres or in an
//! embedded SQLite file, with a chat agent that manages tasks through tools (also served to MCP
//! clients).
//!
//! The binary is a thin wrapper around [`Application`]; tests build the same thing in-process
//! on port 0.

pub mod agent;
pub mod auth;
pub mod config;
pub mod conversations;
pub mod db;
pub mod error;
pub use todo_healthcheck as healthcheck;
pub mod http;
pub mod mcp;
pub mod metrics;
pub mod openapi;
pub mod page;
pub mod rate_limit;
pub mod server;
pub mod shutdown;
pub mod state;
pub mod tasks;
pub mod telemetry;
pub mod tools;

pub use config::Config;
pub use http::app;
pub use server::{Application, Shutdown, StartupError};
pub use state::AppState;
