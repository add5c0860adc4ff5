//! Integration tests: the real application over HTTP on loopback, each test
//! on a fresh SQLite file and again on a fresh PostgreSQL database.

mod helpers;

mod access;
mod backup;
mod bad_input;
mod batch;
mod cli;
mod concurrency;
mod crash;
mod customers;
mod email;
mod export;
mod faults;
mod figures;
mod hostile;
mod import;
mod import_own;
mod ledger;
mod ledger_props;
mod limits;
mod metrics;
mod purge;
mod scheduler;
mod sessions;
mod smtp;
mod tamper;
mod throttle_race;
mod two_nodes;
mod web;
