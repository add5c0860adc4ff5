//! duetrack: a customer due tracker. The crate is laid out by layer:
//! `domain` (pure rules), `store` (SQL on SQLite or PostgreSQL), `http`
//! (the JSON API), `config` and `startup`; `main.rs` is the command line.

pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod notify;
pub mod scheduler;
pub mod startup;
pub mod store;
pub mod web;
