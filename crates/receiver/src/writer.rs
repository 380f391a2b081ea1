//! Group commit: handlers hand their delivery to one writer task and wait; the writer takes
//! every delivery waiting at that moment and stores them in one transaction with one flush
//! to disk, then answers each. Under load a flush serves hundreds of deliveries; when idle a
//! delivery is written alone at once.

use std::sync::Weak;

use inbox::webhook_queue::NewDelivery;
use tokio::sync::{mpsc, oneshot};

use crate::Shared;

pub(crate) struct WriteRequest {
    pub delivery: NewDelivery,
    /// The delivery's queue id, or the inbox error's code and message.
    pub reply: oneshot::Sender<Result<i64, String>>,
}

pub(crate) async fn run(shared: Weak<Shared>, mut rx: mpsc::Receiver<WriteRequest>) {
    while let Some(first) = rx.recv().await {
        let Some(shared) = shared.upgrade() else {
            break;
        };
        let max = shared.cfg.group_commit_max.max(1);
        // Wait for the gate first: whatever arrives meanwhile joins this transaction.
        let gate = shared.write_gate.lock().await;
        let mut batch = vec![first];
        while batch.len() < max {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let (deliveries, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|r| (r.delivery, r.reply)).unzip();
        let stored = shared.inbox.enqueue_deliveries(deliveries).await;
        drop(gate);
        match stored {
            Ok(ids) => {
                shared
                    .pending
                    .fetch_add(ids.len() as u64, std::sync::atomic::Ordering::AcqRel);
                for (reply, id) in replies.into_iter().zip(ids) {
                    let _ = reply.send(Ok(id));
                }
                shared.wake.notify_one();
            }
            Err(e) => {
                tracing::error!(code = %e.code(), error = %e, "cannot store webhook deliveries; answering 503 so Askara retries");
                let msg = format!("{}: {e}", e.code());
                for reply in replies {
                    let _ = reply.send(Err(msg.clone()));
                }
            }
        }
    }
}
