//! The loopback redirect of a browser sign-in (RFC 8252 §7.3): a one-request HTTP server on
//! `127.0.0.1` and a port the OS picks, which hands the authorization response to the app and
//! tells the person they can go back to it. Nothing but `/callback` answers.

use axum::extract::{Query, State};
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

type Slot = Arc<Mutex<Option<oneshot::Sender<Callback>>>>;

pub struct Loopback {
    pub redirect: Url,
    rx: oneshot::Receiver<Callback>,
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
        let slot: Slot = Arc::new(Mutex::new(Some(tx)));
        let app = Router::new()
            .route("/callback", get(callback))
            .with_state(slot);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let redirect = Url::parse(&format!("http://127.0.0.1:{port}/callback"))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Loopback {
            redirect,
            rx,
            _server: StopOnDrop(server),
        })
    }

    /// The first callback; the listener closes after it.
    pub async fn wait(self) -> Option<Callback> {
        self.rx.await.ok()
    }
}

async fn callback(State(slot): State<Slot>, Query(cb): Query<Callback>) -> impl IntoResponse {
    let ok = cb.error.is_none() && cb.code.is_some();
    let sender = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
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
    // Static text only: nothing from the query is echoed into the page.
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
