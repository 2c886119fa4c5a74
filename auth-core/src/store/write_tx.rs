//! Serialized write transactions (see [`super::Store::write_tx`]).
//!
//! On a SQLite file every write transaction runs on one dedicated connection.
//! Why: SQLite drops a connection's whole page cache whenever another
//! connection has committed since its last transaction, so write transactions
//! spread over the pool each started cold and re-read the B-tree pages they
//! were about to change (a third of the refresh path's `pread` calls). One
//! writer keeps its pages, because its own commits do not invalidate them.

use sqlx::{Any, AnyConnection, Connection as _, Executor as _};
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::{Backend, StoreError, StoreResult};

/// How a store serializes its writers.
#[derive(Debug)]
pub(super) enum WriteGate {
    /// PostgreSQL: writers run concurrently; row and advisory locks order them.
    Concurrent,
    /// The in-memory store: its single pooled connection, taken in turn.
    Pooled(Arc<Mutex<()>>),
    /// A SQLite file: the dedicated writer connection, taken in turn.
    Dedicated(Arc<Mutex<Writer>>),
}

/// The dedicated writer connection; `None` once the store is closed.
#[derive(Debug)]
pub(super) struct Writer {
    conn: Option<AnyConnection>,
    /// A transaction may still be open (its [`WriteTx`] was dropped where no
    /// rollback could be spawned, or its COMMIT failed): roll back first.
    dirty: bool,
}

impl Writer {
    pub(super) fn new(conn: AnyConnection) -> Self {
        Self {
            conn: Some(conn),
            dirty: false,
        }
    }

    /// Closes the connection; later write transactions fail.
    pub(super) async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }
}

/// A serialized write transaction. Dropping it without [`WriteTx::commit`]
/// rolls back.
pub(crate) struct WriteTx {
    inner: Option<Inner>,
    backend: Backend,
}

enum Inner {
    Pooled {
        // Field order matters: the transaction must be dropped (rolled back)
        // before the gate opens.
        tx: sqlx::Transaction<'static, Any>,
        _gate: Option<OwnedMutexGuard<()>>,
    },
    Dedicated(OwnedMutexGuard<Writer>),
}

impl WriteTx {
    pub(super) async fn begin(
        gate: &WriteGate,
        pool: &sqlx::AnyPool,
        backend: Backend,
    ) -> StoreResult<WriteTx> {
        let inner = match gate {
            WriteGate::Concurrent => Inner::Pooled {
                tx: pool.begin().await?,
                _gate: None,
            },
            WriteGate::Pooled(gate) => {
                let gate = Arc::clone(gate).lock_owned().await;
                let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                Inner::Pooled {
                    tx,
                    _gate: Some(gate),
                }
            }
            WriteGate::Dedicated(writer) => {
                let writer = Arc::clone(writer).lock_owned().await;
                if writer.conn.is_none() {
                    return Err(StoreError::Database(sqlx::Error::PoolClosed));
                }
                // From here on `Drop` rolls back whatever a cancelled or failed
                // statement leaves open.
                let mut tx = WriteTx {
                    inner: Some(Inner::Dedicated(writer)),
                    backend,
                };
                if tx.writer_dirty() {
                    // "No transaction is active" is the expected answer when the
                    // failed COMMIT had already ended it.
                    let _ = tx.conn().execute("ROLLBACK").await;
                }
                tx.set_writer_dirty(true);
                tx.conn().execute("BEGIN IMMEDIATE").await?;
                return Ok(tx);
            }
        };
        Ok(WriteTx {
            inner: Some(inner),
            backend,
        })
    }

    fn writer_dirty(&self) -> bool {
        matches!(&self.inner, Some(Inner::Dedicated(w)) if w.dirty)
    }

    fn set_writer_dirty(&mut self, dirty: bool) {
        if let Some(Inner::Dedicated(w)) = self.inner.as_mut() {
            w.dirty = dirty;
        }
    }

    /// The connection all statements of this transaction must use.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        match self.inner.as_mut() {
            Some(Inner::Pooled { tx, .. }) => tx,
            Some(Inner::Dedicated(writer)) => match writer.conn.as_mut() {
                Some(conn) => conn,
                // `begin` checked it and only `close`, which waits for the gate, clears it.
                None => unreachable!("the writer connection closed inside a transaction"),
            },
            None => unreachable!("a write transaction is used after it ended"),
        }
    }

    /// Holds `key` until this transaction ends, so read-modify-write sequences on the same
    /// object from several nodes run one after the other. Under PostgreSQL's READ COMMITTED a
    /// conditional UPDATE only re-checks rows of its own snapshot: without this, a rotation
    /// racing a family revocation leaves a live successor in a revoked family. SQLite
    /// transactions of this store are already serialized, so there it costs nothing.
    pub(crate) async fn lock(&mut self, key: &str) -> StoreResult<()> {
        let backend = self.backend;
        super::lock_in(self.conn(), backend, key).await
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        match self.inner.take() {
            Some(Inner::Pooled { tx, _gate }) => tx.commit().await?,
            dedicated => {
                self.inner = dedicated;
                // A failed or cancelled COMMIT leaves the writer dirty: `Drop` rolls back.
                self.conn().execute("COMMIT").await?;
                self.set_writer_dirty(false);
            }
        }
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(Inner::Dedicated(mut writer)) = self.inner.take() else {
            return;
        };
        if !writer.dirty {
            return;
        }
        // The rollback needs the connection's worker thread, so it runs as a task
        // that keeps the gate closed until it is done. Without a runtime the
        // writer stays `dirty` and the next transaction rolls back first.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(conn) = writer.conn.as_mut()
                    && conn.execute("ROLLBACK").await.is_ok()
                {
                    writer.dirty = false;
                }
            });
        }
    }
}
