//! Only the tests matter here: `tests/desktop.rs` drives the real app.
