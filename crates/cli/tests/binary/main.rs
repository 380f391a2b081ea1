//! The real `askara-inbox` binary, driven as a user or a script would, in one test binary (one
//! link instead of three): commands against the simulator, imports into SQLite and a
//! throwaway PostgreSQL, and `serve`/`webhooks`.

mod at_rest;
mod audit;
mod clinic;
mod commands;
mod filters;
mod import;
mod patients;
mod poll_lock;
mod support;
mod webhooks;
