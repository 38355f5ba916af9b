//! Group commit: one task per service instance takes the commands that queued up while the
//! previous batch was being written and runs them as the next batch, in one transaction.
//! On SQLite it takes them once the previous batch has sent its rows, and decides them
//! while that batch commits (`transaction`, "deciding ahead").
//!
//! Throughput then comes from batching, not from connections: a hot account that every
//! entry touches (`@system:rewards`) costs one head update per batch, and one fsync carries
//! hundreds of entries.
//!
//! The batches are written one after another, so every round trip of the writer is on the
//! critical path of every entry. The writer therefore runs on a thread and runtime of its
//! own, with a connection pool made there: on the shared runtime, each answer from the
//! database (on SQLite, from sqlx's worker thread, once per statement) waited for a worker
//! busy with HTTP before the batch could go on. On SQLite its one connection leaves the
//! WAL's checkpoints to a task beside it on the same runtime (`store::checkpoint`). (The
//! figures are in BENCHMARKS.md.)

use super::claims::Claims;
use super::transaction::{self, Ahead, Next, Written};
use crate::apps::AppError;
use crate::ledger::command::{Command, Outcome};
use crate::ledger::record::EntryRecord;
use crate::metrics::Metrics;
use crate::projection::projector::Projector;
use crate::store::{Store, StoreError, checkpoint};
use sea_orm::DbBackend;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;
use uuid::Uuid;

/// Bounds of a batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Most commands in one transaction.
    pub max_size: usize,
    /// How long a batch that is not full may wait for more commands; zero takes only what
    /// already queued up, which under load is plenty.
    pub max_wait: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_size: 512,
            max_wait: Duration::ZERO,
        }
    }
}

/// How a command settled.
#[derive(Debug, Clone)]
pub enum Settled {
    /// Recorded now: completed or failed (sync), or stored as `received` (async).
    Recorded(EntryRecord),
    /// The nonce was this same request's already: the entry recorded then, as it is now.
    Replay(EntryRecord),
    /// The nonce belongs to another request's entry.
    NonceReused(Uuid),
    /// The request's API key was revoked before its batch ran; nothing was recorded.
    KeyRevoked,
    /// An expiry asked for before its instant; nothing was recorded.
    NotDue,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// Shared by every caller of the failed batch.
    #[error(transparent)]
    Store(#[from] Arc<StoreError>),
    #[error(transparent)]
    Apps(#[from] AppError),
    #[error("the workflow has stopped")]
    Stopped,
}

impl From<StoreError> for WorkflowError {
    fn from(e: StoreError) -> Self {
        WorkflowError::Store(Arc::new(e))
    }
}

type Reply = oneshot::Sender<Result<Settled, WorkflowError>>;

pub(super) type Queue = mpsc::Sender<(Command, Reply)>;

/// Starts the processor on a thread of its own, writing to `store` through a pool of its own
/// (see the module docs). `inline`: a projector whose read model is in the store's database,
/// to project each batch in its own transaction. The processor ends when every sender of its
/// queue is dropped.
pub(super) async fn start(
    store: &Store,
    config: BatchConfig,
    inline: Option<Projector>,
    metrics: Arc<Metrics>,
) -> Result<Queue, StoreError> {
    let (queue, commands) = mpsc::channel(config.max_size * 8);
    let writer = Writer {
        store: store.clone(),
        inline,
        metrics,
        claims: Claims::default(),
    };
    let (ready, started) = oneshot::channel();
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    std::thread::Builder::new()
        .name("ledgerflow-writer".into())
        .spawn(move || {
            // The thread logs where its caller does (a test's captured subscriber too).
            tracing::dispatcher::with_default(&dispatch, || {
                writer.on_own_thread(commands, config, ready)
            })
        })
        .map_err(|e| StoreError::Writer(e.to_string()))?;
    started
        .await
        .map_err(|_| StoreError::Writer("the writer thread ended at start".into()))??;
    Ok(queue)
}

/// Runs one command through the processor and waits for its outcome.
pub(super) async fn submit(queue: &Queue, cmd: Command) -> Result<Settled, WorkflowError> {
    let (reply, answer) = oneshot::channel();
    queue
        .send((cmd, reply))
        .await
        .map_err(|_| WorkflowError::Stopped)?;
    answer.await.map_err(|_| WorkflowError::Stopped)?
}

/// Where batches are written.
struct Writer {
    store: Store,
    inline: Option<Projector>,
    metrics: Arc<Metrics>,
    claims: Claims,
}

impl Writer {
    /// The body of the writer's thread: a runtime, the writer's own pool made on it (`ready`
    /// says whether that worked), then the batches.
    fn on_own_thread(
        mut self,
        commands: mpsc::Receiver<(Command, Reply)>,
        config: BatchConfig,
        ready: oneshot::Sender<Result<(), StoreError>>,
    ) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => return drop(ready.send(Err(StoreError::Writer(e.to_string())))),
        };
        runtime.block_on(async move {
            if self.store.backend() == DbBackend::Sqlite {
                // A task of this runtime: it ends with the writer.
                checkpoint::start(&self.store);
            }
            // An inline projector with tables of its own reads them in the pool's
            // transaction; otherwise SQLite's batches run on the writer's own connection.
            let own = self.inline.as_ref().is_none_or(Projector::shares_store);
            match self.store.writer_pool(own).await {
                Ok(pool) => self.store = pool,
                Err(e) => return drop(ready.send(Err(e.into()))),
            }
            let _ = ready.send(Ok(()));
            run(self, commands, config).await;
        });
    }
}

async fn run(writer: Writer, mut queue: mpsc::Receiver<(Command, Reply)>, config: BatchConfig) {
    let mut batch = Vec::with_capacity(config.max_size);
    // Decided while the batch before committed, for the commands it left in `batch`.
    let mut ahead = None;
    loop {
        if batch.is_empty() {
            if queue.is_empty() {
                writer.store.end_carried().await;
            }
            if !gather(&mut queue, &mut batch, config).await {
                return;
            }
        }
        let span = tracing::info_span!("batch", id = next_batch_id(), size = batch.len());
        ahead = run_batch(
            &writer,
            &mut batch,
            ahead.take(),
            &mut queue,
            config.max_size,
        )
        .instrument(span)
        .await;
    }
}

/// Waits for commands and takes what queued up into `batch`, waiting up to
/// `config.max_wait` for more; `false` once the queue is closed.
async fn gather(
    queue: &mut mpsc::Receiver<(Command, Reply)>,
    batch: &mut Vec<(Command, Reply)>,
    config: BatchConfig,
) -> bool {
    if queue.recv_many(batch, config.max_size).await == 0 {
        return false;
    }
    if batch.len() < config.max_size && !config.max_wait.is_zero() {
        let deadline = tokio::time::Instant::now() + config.max_wait;
        while batch.len() < config.max_size {
            let room = config.max_size - batch.len();
            match tokio::time::timeout_at(deadline, queue.recv_many(batch, room)).await {
                Ok(n) if n > 0 => continue,
                _ => break,
            }
        }
    }
    true
}

/// Numbers the batches of this process, for their log lines.
fn next_batch_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs `batch` and answers its callers; leaves in `batch` the commands it took from
/// `queue` while it committed (at most `most`), which are the next batch, and returns
/// that batch if it was decided ahead.
async fn run_batch(
    writer: &Writer,
    batch: &mut Vec<(Command, Reply)>,
    ahead: Option<Ahead>,
    queue: &mut mpsc::Receiver<(Command, Reply)>,
    most: usize,
) -> Option<Ahead> {
    let started = std::time::Instant::now();
    writer.metrics.batch_commands.observe(batch.len() as f64);
    let (commands, replies): (Vec<Command>, Vec<Reply>) = batch.drain(..).unzip();
    let mut next_replies = Vec::new();
    let mut take = || {
        let mut taken = Vec::new();
        while taken.len() < most {
            match queue.try_recv() {
                Ok(queued) => taken.push(queued),
                Err(_) => break,
            }
        }
        let (commands, replies): (Vec<Command>, Vec<Reply>) = taken.into_iter().unzip();
        next_replies = replies;
        commands
    };
    let mut next = Next::new(&mut take);
    let ahead = settle_batch(writer, commands, replies, ahead, &mut next).await;
    let next_commands = next.into_taken();
    let seconds = started.elapsed().as_secs_f64();
    writer.metrics.batch_seconds.observe(seconds);
    tracing::debug!(seconds, "batch settled");
    batch.extend(next_commands.into_iter().zip(next_replies));
    ahead
}

/// Runs one batch and answers each of its callers. If the batch fails as a whole, its
/// commands run again one by one, so that one bad command never fails its neighbours (and
/// nothing is decided ahead then).
async fn settle_batch(
    writer: &Writer,
    commands: Vec<Command>,
    replies: Vec<Reply>,
    ahead: Option<Ahead>,
    next: &mut Next<'_>,
) -> Option<Ahead> {
    match settle(writer, &commands, ahead, Some(next)).await {
        Ok((results, ahead)) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(Ok(result));
            }
            ahead
        }
        Err(e) if commands.len() > 1 => {
            tracing::warn!(error = %e, size = commands.len(), "batch failed; running its commands one by one");
            for (cmd, reply) in commands.into_iter().zip(replies) {
                let one = settle(writer, std::slice::from_ref(&cmd), None, None).await;
                let _ = reply.send(
                    one.map(|(mut r, _)| r.remove(0))
                        .map_err(|e| Arc::new(e).into()),
                );
            }
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "entry failed in the event store");
            let e = Arc::new(e);
            for reply in replies {
                let _ = reply.send(Err(WorkflowError::Store(e.clone())));
            }
            None
        }
    }
}

async fn settle(
    writer: &Writer,
    commands: &[Command],
    ahead: Option<Ahead>,
    next: Option<&mut Next<'_>>,
) -> Result<(Vec<Settled>, Option<Ahead>), StoreError> {
    let store = &writer.store;
    let Written {
        plan,
        ahead,
        as_ahead,
    } = transaction::run(
        store,
        commands,
        writer.inline.as_ref(),
        ahead,
        next,
        &writer.claims,
    )
    .await?;
    if let Some(used) = as_ahead {
        let metrics = &writer.metrics;
        let counter = if used {
            &metrics.batches_ahead
        } else {
            &metrics.batches_again
        };
        counter.inc();
    }
    // A replay is answered with the entry its nonce holds: one recorded in this same batch
    // (from the plan), or an earlier one (read back).
    let recorded: HashMap<Uuid, &EntryRecord> = plan
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Recorded(r) => Some((r.entry.id, &**r)),
            _ => None,
        })
        .collect();
    let earlier_ids: Vec<Uuid> = plan
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Replay(id) if !recorded.contains_key(id) => Some(*id),
            _ => None,
        })
        .collect();
    let mut replays = store.entries(&earlier_ids).await?;
    for o in &plan.outcomes {
        if let Outcome::Replay(id) = o
            && let Some(r) = recorded.get(id)
        {
            replays.insert(*id, (*r).clone());
        }
    }
    let settled = plan
        .outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Recorded(r) => Ok(Settled::Recorded(*r)),
            Outcome::NonceReused(id) => Ok(Settled::NonceReused(id)),
            Outcome::NotDue => Ok(Settled::NotDue),
            Outcome::KeyRevoked => Ok(Settled::KeyRevoked),
            Outcome::Replay(id) => {
                replays
                    .get(&id)
                    .cloned()
                    .map(Settled::Replay)
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("entry {id} holds a nonce but cannot be read"))
                    })
            }
        })
        .collect::<Result<_, _>>()?;
    Ok((settled, ahead))
}

#[cfg(test)]
mod tests;
