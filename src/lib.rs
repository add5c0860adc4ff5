//! duetrack: a customer due tracker. The crate is laid out by layer, and
//! calls go one way: `routes` assembles the two faces, `http` (the JSON API)
//! and `web` (the pages); both call `app`, the use cases, which decide with
//! `domain` (pure rules and the permission table) and persist through
//! `store` (SQL on SQLite or PostgreSQL). `notify` sends what the store
//! queued; `config`, `startup` and `main.rs` (the command line) set it up;
//! `backup` copies the whole database out and back in; `import` reads the
//! old system's CSV folder or a spreadsheet into typed records (no I/O
//! beyond reading the files).

pub mod app;
pub mod backup;
pub mod chain;
pub mod cli;
pub mod config;
pub mod domain;
pub mod edge;
pub mod export;
pub mod http;
pub mod import;
pub mod notify;
pub mod routes;
pub mod scheduler;
pub mod server;
pub mod shed;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
