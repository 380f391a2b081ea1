//! Import targets.
