//! Network errors in words, shared by the API client and the OAuth2 token requests (so
//! neither depends on the other for it).

/// A network error in words, without reqwest's nested chain.
pub fn describe_reqwest(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_body() || e.is_decode() {
        "connection dropped mid-response".into()
    } else if e.is_request() {
        "connection dropped".into()
    } else {
        "network error".into()
    }
}
