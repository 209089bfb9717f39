//! todo-api: accounts, tasks and chat conversations over HTTP, stored in Postgres or in an
//! embedded SQLite file.

pub mod config;
pub mod db;
pub mod error;
pub mod metrics;
pub mod page;
pub mod shutdown;
