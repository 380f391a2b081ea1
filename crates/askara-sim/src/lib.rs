//! A faithful simulator of the Askara API for tests, benchmarks and the demo mode: OAuth2
//! (client credentials, rotating refresh tokens, device code, authorization code with PKCE),
//! `/notes` with API Platform filters and pagination in every collection shape, rate-limit
//! headers, and scripted faults. Library only; the CLI runs it as `askara-inbox sim`.

// Handlers short-circuit with ready-made responses as errors; boxing them would only add
// noise to a test server where the size of an error path is irrelevant.
#![allow(clippy::result_large_err)]

mod authorize;
mod collection;
mod config;
mod device;
mod faults;
mod filters;
pub mod generator;
mod guard;
mod me;
mod notes;
mod oauth;
mod patients;
mod problem;
mod rate_limit;
mod requests;
mod routes;
mod server;
mod state;
mod store;
mod time;
mod tokens;
mod webhooks;

pub use authorize::pkce_challenge;
pub use config::{CollectionFormat, RateLimit, SimConfig};
pub use faults::{Faults, RetryAfter};
pub use generator::generate_note;
pub use requests::RequestRecord;
pub use server::SimHandle;
pub use webhooks::{FailedDelivery, WebhookStats};
