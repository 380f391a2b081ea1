//! Askara API client: typed models, OAuth2, collections in every shape, errors with codes,
//! and the rate-limit and retry policy. No storage, no UI.

pub mod auth;
pub mod client;
pub mod clock;
pub mod collection;
pub mod config;
pub mod error;
pub mod model;
pub mod network;
mod oauth_http;
pub mod retry;
pub mod secret;
pub mod token;
pub mod webhooks;

pub use auth::{Authenticator, DeviceAuthorization, PkceSession};
pub use client::{ApiClient, NotesPage};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use config::{ClientConfig, RetryPolicy, TokenBodyFormat};
pub use error::{ApiError, ErrorCode};
pub use model::{parse_instant, ModelError, Note, Patient};
pub use retry::RateLimitStatus;
pub use secret::Sensitive;
pub use token::{MemoryTokenStore, RefreshLock, TokenSet, TokenStore};
