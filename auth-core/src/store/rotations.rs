//! The group commit of refresh-token rotations on SQLite (see
//! [`Store::rotate_refresh_token`]).
//!
//! SQLite has one writer, so concurrent rotations queue for one task that
//! applies everything queued in one transaction and answers each caller after
//! the commit. Within the transaction the usual case is batched too: the
//! presented tokens of one tenant are redeemed by one UPDATE and their
//! successors stored by multi-row INSERTs, because every statement is a round
//! trip to sqlx's worker thread. Everything unusual (an unknown, expired or
//! replayed token, the same token twice in one batch) goes through the
//! one-token path, [`redeem_in`], after the batch: it sees the batch's writes,
//! so a replay inside a batch is detected like any other.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use sqlx::AnyConnection;
use tokio::sync::{mpsc, oneshot};

use super::time::{now_ms, system_time_ms};
use super::tokens::{REFRESH_COLUMNS, RefreshRow, RefreshTokenRecord, finish_redeem, redeem_in};
use super::{Backend, Store, StoreError, StoreResult};

impl Store {
    /// [`Store::take_refresh_token`] and, in the same transaction, stores its successor
    /// (`next_hash`, same family, client, user, scope and audience), so the family never has
    /// a window without a live token.
    ///
    /// Concurrent rotations are group-committed: they queue for one writer task that applies
    /// everything queued in one transaction and answers each caller after the commit. On the
    /// refresh path SQLite's single writer was the bottleneck (one BEGIN/COMMIT and four
    /// worker-thread round trips per login); a batch pays for those once.
    pub async fn rotate_refresh_token(
        &self,
        tenant: &str,
        token_hash: &str,
        next_hash: &str,
        next_expires_at: SystemTime,
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        if self.backend == Backend::Postgres {
            // PostgreSQL has concurrent writers and groups WAL flushes itself; one
            // transaction per rotation keeps one failure from touching the others.
            let mut tx = self.write_tx().await?;
            let successor = Some((next_hash, next_expires_at));
            let result =
                redeem_in(tx.conn(), Backend::Postgres, tenant, token_hash, successor).await;
            return finish_redeem(tx, result).await;
        }
        let (done, answer) = oneshot::channel();
        let job = Rotation {
            tenant: tenant.to_owned(),
            token_hash: token_hash.to_owned(),
            next_hash: next_hash.to_owned(),
            next_expires_at,
            done,
        };
        let queue = self.rotations.get_or_init(|| {
            let (tx, rx) = mpsc::channel(ROTATION_QUEUE_DEPTH);
            tokio::spawn(commit_rotations(self.clone(), rx));
            tx
        });
        if queue.send(job).await.is_err() {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        }
        answer
            .await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::PoolClosed)))
    }
}

/// A rotation queued for the next group commit.
pub(crate) struct Rotation {
    pub(super) tenant: String,
    pub(super) token_hash: String,
    pub(super) next_hash: String,
    pub(super) next_expires_at: SystemTime,
    pub(super) done: oneshot::Sender<StoreResult<Option<RefreshTokenRecord>>>,
}

/// Rotations one transaction applies at most.
const MAX_ROTATIONS_PER_COMMIT: usize = 256;
/// Rotations waiting before callers are slowed down.
const ROTATION_QUEUE_DEPTH: usize = 4096;
/// Tokens one UPDATE redeems (and whose successors one INSERT stores): each
/// statement is a round trip to sqlx's worker thread.
const TOKENS_PER_UPDATE: usize = 32;

async fn commit_rotations(store: Store, mut rx: mpsc::Receiver<Rotation>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_ROTATIONS_PER_COMMIT {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let committed = async {
            let mut tx = store.write_tx().await?;
            let results = apply(tx.conn(), &jobs).await;
            tx.commit().await.map(|()| results)
        }
        .await;
        match committed {
            Ok(results) => {
                for (job, result) in jobs.into_iter().zip(results) {
                    let _ = job.done.send(result);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, rotations = jobs.len(), "refresh-token group commit failed");
                let message = e.to_string();
                for job in jobs {
                    let failed = sqlx::Error::Protocol(message.clone());
                    let _ = job.done.send(Err(StoreError::Database(failed)));
                }
            }
        }
    }
}

/// Applies `jobs` in the caller's transaction; one result per job, in order.
async fn apply(
    conn: &mut AnyConnection,
    jobs: &[Rotation],
) -> Vec<StoreResult<Option<RefreshTokenRecord>>> {
    let mut results: Vec<Option<StoreResult<Option<RefreshTokenRecord>>>> =
        jobs.iter().map(|_| None).collect();
    // The first job presenting a token is batched; a second one in the same
    // batch is a replay and goes through the one-token path afterwards.
    let mut seen = HashSet::new();
    let mut by_tenant: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        if seen.insert((job.tenant.as_str(), job.token_hash.as_str())) {
            by_tenant.entry(job.tenant.as_str()).or_default().push(i);
        }
    }
    for (tenant, indices) in by_tenant {
        for chunk in indices.chunks(TOKENS_PER_UPDATE) {
            // A savepoint makes a failed chunk undo its UPDATE too: its jobs are
            // then retried one by one below, which must not find their tokens
            // marked used (that would read as a replay and revoke the families).
            if execute(conn, "SAVEPOINT rotation_batch").await.is_err() {
                continue;
            }
            match redeem_batch(conn, tenant, jobs, chunk).await {
                Ok(redeemed) => {
                    for (i, row) in redeemed {
                        results[i] = Some(Ok(Some(row.into())));
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "batched rotation failed; one by one");
                    if execute(conn, "ROLLBACK TO rotation_batch").await.is_err() {
                        // The transaction is in an unknown state: fail it whole.
                        let message = e.to_string();
                        return jobs
                            .iter()
                            .map(|_| {
                                Err(StoreError::Database(sqlx::Error::Protocol(message.clone())))
                            })
                            .collect();
                    }
                }
            }
            let _ = execute(conn, "RELEASE rotation_batch").await;
        }
    }
    let mut out = Vec::with_capacity(jobs.len());
    for (job, result) in jobs.iter().zip(results) {
        let result = match result {
            Some(done) => done,
            None => {
                let successor = Some((job.next_hash.as_str(), job.next_expires_at));
                redeem_in(
                    conn,
                    Backend::Sqlite,
                    &job.tenant,
                    &job.token_hash,
                    successor,
                )
                .await
            }
        };
        out.push(result);
    }
    out
}

async fn execute(conn: &mut AnyConnection, sql: &str) -> StoreResult<()> {
    sqlx::query(sql).execute(conn).await?;
    Ok(())
}

/// Redeems the live tokens of `chunk` (jobs of one tenant) and stores their
/// successors: two statements for the whole chunk. Returns the job index and
/// the redeemed row of each token that was live; the others are left alone.
async fn redeem_batch(
    conn: &mut AnyConnection,
    tenant: &str,
    jobs: &[Rotation],
    chunk: &[usize],
) -> StoreResult<Vec<(usize, RefreshRow)>> {
    let now = now_ms();
    // Anonymous parameters throughout, bound in order (see `placeholders`).
    let sql = format!(
        "UPDATE refresh_tokens SET used_at = ?
         WHERE tenant_id = ? AND token_hash IN ({})
           AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
         RETURNING {REFRESH_COLUMNS}",
        super::placeholders::list(Backend::Sqlite, chunk.len(), 3)
    );
    let mut q = sqlx::query_as::<_, RefreshRow>(&sql).bind(now).bind(tenant);
    for &i in chunk {
        q = q.bind(&jobs[i].token_hash);
    }
    q = q.bind(now);
    let rows = q.fetch_all(&mut *conn).await?;
    let index: HashMap<&str, usize> = chunk
        .iter()
        .map(|&i| (jobs[i].token_hash.as_str(), i))
        .collect();
    let redeemed: Vec<(usize, RefreshRow)> = rows
        .into_iter()
        .filter_map(|row| index.get(row.token_hash.as_str()).map(|&i| (i, row)))
        .collect();
    if !redeemed.is_empty() {
        insert_successors(conn, tenant, jobs, &redeemed, now).await?;
    }
    Ok(redeemed)
}

/// One INSERT for the successors of `redeemed` (same family, client, user,
/// scope and audience as the token each replaces).
async fn insert_successors(
    conn: &mut AnyConnection,
    tenant: &str,
    jobs: &[Rotation],
    redeemed: &[(usize, RefreshRow)],
    now: i64,
) -> StoreResult<()> {
    const COLUMNS: usize = 10;
    let sql = format!(
        "INSERT INTO refresh_tokens (tenant_id, token_hash, family_id, client_id, user_id, scope,
             audience, created_at, expires_at, family_expires_at) VALUES {}",
        super::placeholders::value_rows(Backend::Sqlite, redeemed.len(), COLUMNS, 1)
    );
    let mut q = sqlx::query(&sql);
    for (i, row) in redeemed {
        let job = &jobs[*i];
        q = q
            .bind(tenant)
            .bind(&job.next_hash)
            .bind(&row.family_id)
            .bind(&row.client_id)
            .bind(&row.user_id)
            .bind(&row.scope)
            .bind(&row.audience)
            .bind(now)
            // Never past the family's end, whatever the caller asked.
            .bind(system_time_ms(job.next_expires_at).min(row.family_end_ms()))
            .bind(row.family_end_ms());
    }
    q.execute(conn)
        .await
        .map_err(|e| StoreError::from_write(e, |_| "refresh token already exists".into()))?;
    Ok(())
}
