//! Group commit: concurrent callers' batches are committed together in one
//! transaction, and each caller is answered only after that commit.
//!
//! Whoever commits takes whatever is queued the moment it becomes free, so
//! under load a group grows by itself and one durable commit serves many
//! requests; an idle ledger commits a lone batch at once. The SQLite writer
//! thread gathers its own groups (a hand-off to another task between groups
//! would leave the only writer idle while that task waits for a turn);
//! PostgreSQL overlaps a few committing tasks.

use tokio::sync::{mpsc, oneshot};

use super::{BatchResult, PreparedRecord, StoreError, StoreResult};
use crate::domain::FieldError;
use crate::domain::money::MAX_TOTAL;

/// Records in one group at most; bounds a transaction's size and latency.
const MAX_GROUP_RECORDS: usize = 20_000;
/// Batches waiting to be committed before callers queue for a place.
pub const QUEUE: usize = 4_096;

/// One caller's batch and where its outcome goes.
pub struct Pending {
    batch: Vec<PreparedRecord>,
    reply: oneshot::Sender<StoreResult<BatchResult>>,
}

/// Queues `batch` on `queue` (as `wrap` makes it a message of that queue)
/// and waits until its group is committed.
pub async fn submit<T>(
    queue: &mpsc::Sender<T>,
    batch: Vec<PreparedRecord>,
    wrap: impl FnOnce(Pending) -> T,
) -> StoreResult<BatchResult> {
    let (reply, answer) = oneshot::channel();
    queue
        .send(wrap(Pending { batch, reply }))
        .await
        .map_err(|_| stopped())?;
    answer.await.map_err(|_| stopped())?
}

/// The error of a caller whose batch can no longer be committed.
fn stopped() -> StoreError {
    StoreError::Unavailable("the ledger is shutting down".into())
}

/// `first` and then what `next` yields, until it yields nothing or the group
/// is full.
pub fn gather(first: Pending, mut next: impl FnMut() -> Option<Pending>) -> Vec<Pending> {
    let mut size = first.batch.len();
    let mut group = vec![first];
    while size < MAX_GROUP_RECORDS {
        let Some(pending) = next() else { break };
        size += pending.batch.len();
        group.push(pending);
    }
    group
}

/// The group's batches, and the replies to send once it is committed.
pub fn split(group: Vec<Pending>) -> (Vec<Vec<PreparedRecord>>, Replies) {
    let (batches, replies) = group.into_iter().map(|p| (p.batch, p.reply)).unzip();
    (batches, Replies(replies))
}

/// The refusal of a batch whose cost does not fit the aggregate rows it
/// adds to (`StoreError::TooLarge`); names its costliest record.
fn too_large(batch: &[PreparedRecord]) -> BatchResult {
    let index = (0..batch.len())
        .max_by_key(|&i| (batch[i].record.cost_usd, std::cmp::Reverse(i)))
        .unwrap_or(0);
    Err(vec![FieldError {
        index,
        field: "cost_usd".into(),
        message: format!(
            "would take a stored total (a day's, or a user's week) past ${MAX_TOTAL}, \
             the most one row holds; nothing of this request was recorded"
        ),
    }])
}

/// The outcome of committing `batch` alone, after its group did not fit:
/// its result, or its refusal when it is the batch that does not fit.
pub fn alone(
    batch: &[PreparedRecord],
    outcome: StoreResult<Vec<BatchResult>>,
) -> StoreResult<BatchResult> {
    match outcome {
        Err(StoreError::TooLarge(_)) => Ok(too_large(batch)),
        other => Ok(other?.remove(0)),
    }
}

/// Where the outcomes of a group's batches go, in the group's order.
pub struct Replies(Vec<oneshot::Sender<StoreResult<BatchResult>>>);

impl Replies {
    /// Answers every caller: its batch's result, or the group's error.
    pub fn send(self, outcome: StoreResult<Vec<BatchResult>>) {
        match outcome {
            Ok(results) => {
                for (reply, result) in self.0.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(batches = self.0.len(), error = %e, "a group commit failed");
                for reply in self.0 {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}
