//! Integration tests: the real application over real HTTP, on SQLite and (when
//! `TEST_DATABASE_URL` is set) on Postgres. One test binary, so it is linked once.

mod helpers;

mod auth;
mod chat;
mod connections;
mod contract;
mod conversation_flows;
mod conversations;
mod errors;
mod health;
mod healthcheck;
mod isolation;
mod limits;
mod llm;
mod mcp;
mod numbering;
mod openapi;
mod persistence;
mod scripted_llm;
mod shutdown;
mod tasks;
