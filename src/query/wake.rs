//! Waking the reads that wait for a version, when a projection commits, instead of polling.
//!
//! The projector of this process signals after each commit ([`ReadModel::projected`]).
//! Another instance's projector reaches this one through PostgreSQL: it sends
//! `NOTIFY ledgerflow_projected` in its transaction ([`notification`]), and every instance
//! listens ([`ReadModel::listen`]). A SQLite read model has one process, whose own signal is
//! all there is. A waiting read also looks again once a second, so that a notification lost
//! while the listener reconnects costs at most that.

use super::ReadModel;
use sea_orm::DbBackend;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The channel projectors notify on.
const CHANNEL: &str = "ledgerflow_projected";

/// The longest a waiting read goes without looking again, whatever it heard.
pub const SAFETY_NET: Duration = Duration::from_secs(1);

/// The statement that notifies, for a projector's transaction on `backend` to send
/// (delivered at its commit); none on SQLite.
pub fn notification(backend: DbBackend) -> Option<String> {
    (backend == DbBackend::Postgres).then(|| format!("SELECT pg_notify('{CHANNEL}', '')"))
}

impl ReadModel {
    /// Signals this process's waiting reads that a projection committed.
    pub fn projected(&self) {
        self.projected.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver of the signal, to wait on with [`wait_for_change`].
    pub(super) fn changes(&self) -> watch::Receiver<u64> {
        self.projected.subscribe()
    }

    /// On PostgreSQL, listens for other instances' projections for as long as the process
    /// runs, relaying each as this process's signal.
    pub fn listen(&self) {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return;
        }
        let read = self.clone();
        tokio::spawn(async move {
            let pool = read.db.get_postgres_connection_pool();
            loop {
                let listening = async {
                    let mut listener =
                        sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
                    listener.listen(CHANNEL).await?;
                    loop {
                        listener.recv().await?;
                        read.projected();
                    }
                };
                let result: Result<(), sea_orm::sqlx::Error> = listening.await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "not listening for projections; again in 1 s");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

/// Waits until `changes` moves on, `deadline` passes, or the safety net's second is up.
pub(super) async fn wait_for_change(changes: &mut watch::Receiver<u64>, deadline: Instant) {
    let until = deadline.min(Instant::now() + SAFETY_NET);
    let _ = tokio::time::timeout_at(until, changes.changed()).await;
}
