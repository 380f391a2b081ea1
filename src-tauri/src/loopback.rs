//! The loopback redirect of a browser sign-in (RFC 8252 §7.3): a one-request HTTP server on
//! `127.0.0.1` and a port the OS picks, which hands the authorization response to the app and
//! tells the person they can go back to it. Nothing but `/callback` answers, and only a
//! callback carrying the sign-in's `state` is handed over: any other (a stale tab, a page or a
//! program on this machine poking the port) gets a 400 and the listener keeps waiting, so it
//! can neither finish nor abort the sign-in under way.

use askara::Sensitive;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use url::Url;

/// What the authorization server sent back through the browser.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Where the callback goes, and the state it must carry (unset: every callback is refused).
#[derive(Default)]
struct Shared {
    tx: Mutex<Option<oneshot::Sender<Callback>>>,
    expected: Mutex<Option<Sensitive<String>>>,
}

type Slot = Arc<Shared>;

pub struct Loopback {
    pub redirect: Url,
    rx: oneshot::Receiver<Callback>,
    slot: Slot,
    _server: StopOnDrop,
}

/// The listener stops with its `Loopback`: on the callback, or when the sign-in is cancelled
/// or times out (a detached task would keep the port open until the app quits).
struct StopOnDrop(tokio::task::JoinHandle<()>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Loopback {
    /// Listens on `127.0.0.1:0`; `redirect` is the URL to register with the sign-in.
    pub async fn bind() -> std::io::Result<Loopback> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let (tx, rx) = oneshot::channel();
        let slot: Slot = Arc::new(Shared {
            tx: Mutex::new(Some(tx)),
            expected: Mutex::new(None),
        });
        let app = Router::new()
            .route("/callback", get(callback))
            .with_state(slot.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let redirect = Url::parse(&format!("http://127.0.0.1:{port}/callback"))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Loopback {
            redirect,
            rx,
            slot,
            _server: StopOnDrop(server),
        })
    }

    /// The `state` of the sign-in this listener serves (known once the authorize URL is made
    /// with `redirect`): only a callback carrying it is handed over.
    pub fn expect_state(&self, state: Sensitive<String>) {
        *self.slot.expected.lock().unwrap_or_else(|e| e.into_inner()) = Some(state);
    }

    /// The first callback with the expected state; the listener closes after it.
    pub async fn wait(self) -> Option<Callback> {
        self.rx.await.ok()
    }
}

async fn callback(State(slot): State<Slot>, Query(cb): Query<Callback>) -> impl IntoResponse {
    let ours = slot
        .expected
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|s| askara::auth::state_matches(s.expose(), cb.state.as_deref()));
    if !ours {
        return (
            StatusCode::BAD_REQUEST,
            page("This link does not belong to the sign-in in progress. Go back to Askara Inbox."),
        );
    }
    let ok = cb.error.is_none() && cb.code.is_some();
    let sender = slot.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
    let message = match (sender, ok) {
        (None, _) => "This sign-in was already used. Go back to Askara Inbox.",
        (Some(tx), ok) => {
            let _ = tx.send(cb);
            if ok {
                "You are signed in to Askara Inbox. You can close this tab and go back to the app."
            } else {
                "Sign-in was not completed. Go back to Askara Inbox to see why and try again."
            }
        }
    };
    (StatusCode::OK, page(message))
}

/// Static text only: nothing from the query is echoed into the page.
fn page(message: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Askara Inbox</title>\
         <body style=\"font:16px system-ui;margin:3em\"><p>{message}</p></body>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_callback_is_handed_over_and_the_page_says_go_back() {
        let lb = Loopback::bind().await.unwrap();
        lb.expect_state(Sensitive::new("xyz".into()));
        assert_eq!(lb.redirect.host_str(), Some("127.0.0.1"));
        let base = lb.redirect.clone();
        let http = reqwest::Client::new();
        let nope = http.get(base.join("/other").unwrap()).send().await.unwrap();
        assert_eq!(nope.status(), 404);
        let mut url = base.clone();
        url.set_query(Some("code=abc&state=xyz"));
        let page = http
            .get(url.clone())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("You are signed in"), "{page}");
        let cb = lb.wait().await.unwrap();
        assert_eq!(
            (cb.code.as_deref(), cb.state.as_deref()),
            (Some("abc"), Some("xyz"))
        );
    }

    #[tokio::test]
    async fn callbacks_with_another_state_are_refused_and_the_sign_in_keeps_waiting() {
        let lb = Loopback::bind().await.unwrap();
        let base = lb.redirect.clone();
        let http = reqwest::Client::new();
        let with = |q: &str| {
            let mut u = base.clone();
            u.set_query(Some(q));
            http.get(u).send()
        };
        // Before the state is known, nothing is accepted.
        assert_eq!(with("code=early&state=s3").await.unwrap().status(), 400);
        lb.expect_state(Sensitive::new("s3".into()));
        for q in [
            "code=forged&state=other",
            "code=forged",
            "error=access_denied&state=s",
            "error=access_denied",
        ] {
            let resp = with(q).await.unwrap();
            assert_eq!(resp.status(), 400, "{q}");
            assert!(resp.text().await.unwrap().contains("does not belong"));
        }
        assert_eq!(with("code=good&state=s3").await.unwrap().status(), 200);
        let cb = lb.wait().await.unwrap();
        assert_eq!(
            (cb.code.as_deref(), cb.state.as_deref()),
            (Some("good"), Some("s3"))
        );
    }

    #[tokio::test]
    async fn an_abandoned_sign_in_closes_its_listener() {
        let lb = Loopback::bind().await.unwrap();
        let url = lb.redirect.clone();
        assert!(
            reqwest::get(url.clone()).await.is_ok(),
            "listening while the sign-in runs"
        );
        drop(lb);
        tokio::task::yield_now().await;
        assert!(
            reqwest::get(url).await.is_err(),
            "closed once the sign-in is dropped"
        );
    }
}
