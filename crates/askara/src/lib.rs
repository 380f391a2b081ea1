//! Askara API client: typed models, OAuth2, collections in every shape, errors with codes,
//! and the rate-limit and retry policy. No storage, no UI.

pub mod model;

pub use model::{parse_instant, ModelError, Note, Patient};
