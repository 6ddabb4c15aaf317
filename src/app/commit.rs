//! Group commit: concurrent callers' batches are committed together in one
//! transaction, and each caller is answered only after that commit.
//!
//! Workers take whatever is queued when they become free, so under load a
//! group grows by itself and one durable commit serves many requests; an
//! idle ledger commits a lone batch at once.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::store::{BatchResult, PreparedRecord, Store, StoreError, StoreResult};

/// Records in one group at most; bounds a transaction's size and latency.
const MAX_GROUP_RECORDS: usize = 20_000;
/// Batches waiting for a worker before callers queue on the channel.
const QUEUE: usize = 4_096;

struct Pending {
    batch: Vec<PreparedRecord>,
    reply: oneshot::Sender<StoreResult<BatchResult>>,
}

#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Pending>,
}

impl Committer {
    /// Starts `workers` commit loops. SQLite has one writer, so one worker is
    /// right there; PostgreSQL can overlap a few commits.
    pub fn start(store: Arc<dyn Store>, workers: usize) -> Committer {
        let (queue, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers.max(1) {
            tokio::spawn(run(store.clone(), rx.clone()));
        }
        Committer { queue }
    }

    /// Commits a batch with whatever else is waiting; returns once durable.
    pub async fn commit(&self, batch: Vec<PreparedRecord>) -> StoreResult<BatchResult> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the ledger is shutting down".into());
        self.queue
            .send(Pending { batch, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(store: Arc<dyn Store>, rx: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    loop {
        let group = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else { return };
            let mut size = first.batch.len();
            let mut group = vec![first];
            while size < MAX_GROUP_RECORDS {
                match rx.try_recv() {
                    Ok(next) => {
                        size += next.batch.len();
                        group.push(next);
                    }
                    Err(_) => break,
                }
            }
            group
        };
        let (batches, replies): (Vec<_>, Vec<_>) =
            group.into_iter().map(|p| (p.batch, p.reply)).unzip();
        let count = batches.len();
        match store.record(batches).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(batches = count, error = %e, "a group commit failed");
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}
