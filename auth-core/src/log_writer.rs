//! Execution logs leave the login path through a queue: one writer task
//! stores whatever has queued up in one transaction.
//!
//! Why: a login with three Actions produced three separate commits, each
//! queueing on SQLite's single writer behind the token writes, which cost
//! more than the Actions themselves. Batching turns them into one commit per
//! batch. The price is that a log becomes readable a few milliseconds after
//! the login answered; readers on this node call [`LogWriter::flush`] first,
//! and a crash loses at most the batch in flight (logs are diagnostics, not
//! state a login depends on).

use crate::store::{ExecutionLogInput, Store};
use std::sync::OnceLock;
use std::time::SystemTime;
use tokio::sync::{mpsc, oneshot};

/// Logs one transaction stores at most.
const MAX_BATCH: usize = 512;
/// Logs waiting before producers are slowed down (back-pressure instead of
/// unbounded memory when the disk cannot keep up).
const QUEUE_DEPTH: usize = 16_384;

// Nearly every message is a log; boxing it would add an allocation per log
// to save queue space only a rare flush marker wastes.
#[allow(clippy::large_enum_variant)]
enum Message {
    Log(String, SystemTime, ExecutionLogInput),
    /// Answered once everything queued before it is stored.
    Flush(oneshot::Sender<()>),
}

/// See the module docs. The writer task starts with the first log, inside
/// whatever tokio runtime the server runs on.
pub struct LogWriter {
    store: Store,
    queue: OnceLock<mpsc::Sender<Message>>,
}

impl LogWriter {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            queue: OnceLock::new(),
        }
    }

    fn queue(&self) -> &mpsc::Sender<Message> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
            tokio::spawn(write_batches(self.store.clone(), rx));
            tx
        })
    }

    /// Queues a log dated now.
    pub async fn record(&self, tenant: &str, log: ExecutionLogInput) {
        let msg = Message::Log(tenant.to_owned(), SystemTime::now(), log);
        if self.queue().send(msg).await.is_err() {
            tracing::warn!("the execution-log writer has stopped; a log was dropped");
        }
    }

    /// Waits until every log queued so far is stored.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.queue().send(Message::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn write_batches(store: Store, mut rx: mpsc::Receiver<Message>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut waiting = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Message::Log(tenant, at, log) => batch.push((tenant, at, log)),
                Message::Flush(done) => waiting.push(done),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            store_with_retries(&store, std::mem::take(&mut batch)).await;
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Pauses before the second and third attempt of a batch: a database that is briefly busy
/// (a failover, a lock held by a migration) should not cost a whole batch of logs.
const RETRY_BACKOFF: [std::time::Duration; 2] = [
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(500),
];

/// Stores a batch, retrying a failed transaction; a batch that still fails is counted in
/// `rulebox_execution_logs_dropped_total` so the loss is visible on the dashboard of the
/// platform team, not only in a warning line.
async fn store_with_retries(store: &Store, batch: Vec<(String, SystemTime, ExecutionLogInput)>) {
    let n = batch.len();
    let mut attempt = 0;
    loop {
        match store.insert_execution_logs(batch.clone()).await {
            Ok(_) => return,
            Err(e) => {
                let Some(pause) = RETRY_BACKOFF.get(attempt) else {
                    tracing::error!(error = %e, logs = n, "execution logs dropped after retries");
                    metrics::counter!("rulebox_execution_logs_dropped_total").increment(n as u64);
                    return;
                };
                tracing::warn!(error = %e, logs = n, attempt, "storing execution logs failed; retrying");
                tokio::time::sleep(*pause).await;
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(name: &str) -> ExecutionLogInput {
        ExecutionLogInput {
            kind: "action".into(),
            name: name.into(),
            trigger_id: "post-login".into(),
            outcome: "ok".into(),
            ..ExecutionLogInput::default()
        }
    }

    /// A file store with tenant `acme` and a writer on it; keep the directory alive.
    async fn writer_for_acme() -> (tempfile::TempDir, Store, LogWriter) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db.sqlite"))
            .await
            .expect("store");
        store.create_tenant("acme", None).await.expect("tenant");
        let writer = LogWriter::new(store.clone());
        (dir, store, writer)
    }

    #[tokio::test]
    async fn flush_returns_after_every_queued_log_is_readable() {
        let (_dir, store, writer) = writer_for_acme().await;
        for i in 0..1_000 {
            writer.record("acme", log(&format!("a{i}"))).await;
        }
        writer.flush().await;
        let page = store
            .list_execution_logs("acme", 0, 100, None)
            .await
            .expect("list");
        assert_eq!(page.len(), 100);
        assert_eq!(page[0].name, "a999", "newest first, dated when queued");
        let last = store
            .list_execution_logs("acme", 9, 100, None)
            .await
            .expect("list");
        assert_eq!(last.len(), 100, "all 1,000 stored");
    }

    #[tokio::test]
    async fn a_batch_that_cannot_be_stored_is_retried_then_dropped_without_stopping_the_writer() {
        let (_dir, store, writer) = writer_for_acme().await;
        store.close().await;
        let started = std::time::Instant::now();
        writer.record("acme", log("lost")).await;
        writer.flush().await;
        let waited = started.elapsed();
        assert!(
            waited >= RETRY_BACKOFF.iter().sum::<std::time::Duration>(),
            "flush answered after {waited:?}, before the retries ran"
        );
        // The writer task is still alive: a later flush is answered too.
        tokio::time::timeout(std::time::Duration::from_secs(5), writer.flush())
            .await
            .expect("the writer still answers");
    }
}
