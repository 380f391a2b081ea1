//! The accept loop, hand-rolled so that an abusive client cannot hold the receiver: headers
//! must arrive within `header_timeout` (a client sending one byte a second is cut off), open
//! connections are capped (more are closed at once), idle keep-alive connections are closed,
//! and the caller's address reaches handlers (`/healthz` tells counts only to loopback).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower_service::Service as _;

use crate::config::ReceiverConfig;

/// The TCP peer of a request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Peer(pub SocketAddr);

pub(crate) async fn serve<F>(
    listener: TcpListener,
    app: Router,
    cfg: &ReceiverConfig,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
    let header_timeout = cfg.header_timeout;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Usually EMFILE under a flood: back off instead of spinning.
                        tracing::debug!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    // Over the connection cap: close at once (a sender retries later).
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let mut stop = stop_rx.clone();
                conns.spawn(async move {
                    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                        req.extensions_mut().insert(Peer(peer));
                        let mut app = app.clone();
                        async move { app.call(req).await }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_timeout)
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc);
                    let mut conn = std::pin::pin!(conn);
                    tokio::select! {
                        res = conn.as_mut() => {
                            if let Err(e) = res {
                                tracing::debug!(error = %e, "webhook connection ended with an error");
                            }
                        }
                        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                            // Let the request in flight finish, then close.
                            conn.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), conn).await;
                        }
                    }
                    drop(permit);
                });
                // Reap finished connection tasks so the set does not grow.
                while conns.try_join_next().is_some() {}
            }
            _ = &mut shutdown => break,
        }
    }
    let _ = stop_tx.send(true);
    while conns.join_next().await.is_some() {}
    Ok(())
}
