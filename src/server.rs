//! Wiring: open the stores, start the projection and the workflow, resume unfinished
//! entries, serve. Nothing here decides anything.

use crate::api::listener;
use crate::api::{self, Ctx};
use crate::apps::{AppError, Apps, RateLimits};
use crate::bus::{BusError, Nats};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::projection::Projection;
use crate::query::{Queries, ReadModel};
use crate::store::{Store, StoreError};
use crate::webhooks::Webhooks;
use crate::workflow::{Workflow, WorkflowError, expiry};
use operations::{Catalog, CatalogError};
use sea_orm::DbErr;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("event store: {0}")]
    Store(#[from] DbErr),
    #[error("read model: {0}")]
    ReadModel(DbErr),
    #[error(transparent)]
    Writer(#[from] StoreError),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("operation catalog: {0}")]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Apps(#[from] AppError),
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// The service-wide catalog: the base catalog and then each `LEDGERFLOW_OPERATIONS` file.
pub fn load_catalog(config: &Config) -> Result<Catalog, CatalogError> {
    let mut catalog = Catalog::base();
    for path in &config.operations {
        catalog.extend_from_file(path)?;
    }
    Ok(catalog)
}

/// Connects to the event store, migrates it, and loads the apps' catalogs.
pub async fn open(config: &Config) -> Result<(Store, Apps), StartError> {
    let catalog = load_catalog(config)?;
    let store = Store::connect(&config.event_store_url).await?;
    store.migrate().await?;
    let apps = Apps::new(store.clone(), catalog);
    apps.check_catalogs().await?;
    Ok((store, apps))
}

/// Opens the read model (in the event store's database unless it has its own) and
/// migrates it.
pub async fn open_read_model(config: &Config, store: &Store) -> Result<ReadModel, StartError> {
    let read = match &config.read_model_url {
        Some(url) => ReadModel::connect(url)
            .await
            .map_err(StartError::ReadModel)?,
        None => ReadModel::sharing(store),
    };
    read.migrate().await.map_err(StartError::ReadModel)?;
    Ok(read)
}

/// The projection of this instance: NATS JetStream when configured, else in process.
/// Connecting to NATS does not wait for it: writes go on while it is down.
pub async fn projection(
    config: &Config,
    store: &Store,
    read: &ReadModel,
    metrics: Arc<Metrics>,
) -> Result<Projection, StartError> {
    let nats = match config.nats() {
        Some(nats) => Some(Nats::connect(nats).await?),
        None => None,
    };
    Ok(Projection::new(store.clone(), read.clone(), nats, metrics))
}

/// The running parts of one service instance: what the HTTP API is given ([`Ctx`]), and
/// the stores behind them, for the tools and tests that look underneath.
pub struct Service {
    pub ctx: Arc<Ctx>,
    pub store: Store,
    pub read: ReadModel,
}

/// Everything the HTTP API needs, with the workflow and (unless turned off) the projection
/// running, and unfinished entries resumed.
pub async fn start(config: &Config) -> Result<Service, StartError> {
    let (store, apps) = open(config).await?;
    let read = open_read_model(config, &store).await?;
    read.listen();
    let metrics = Arc::new(Metrics::default());
    let projection = projection(config, &store, &read, metrics.clone()).await?;
    if config.projector {
        projection.start();
    }
    // With the read model in the event store's database, each batch writes its entries'
    // rows there in its own transaction (the rest of that read model is views of the event
    // store's tables): it never trails the event store, whatever the bus or `projector`.
    let inline = read.shares_store().then(|| projection.projector());
    let workflow = Workflow::start(&store, config.batch(), inline, metrics.clone()).await?;
    workflow.resume(&apps).await?;
    if config.record_expiries {
        expiry::start(&workflow, metrics.clone());
    }
    let retention = Duration::from_secs(config.event_retention_days * 86_400);
    crate::projection::retention::start(store.clone(), read.clone(), retention);
    let webhooks = Arc::new(Webhooks::new(store.clone(), config.webhooks()));
    webhooks.start(metrics.clone());
    let ctx = Arc::new(Ctx {
        workflow,
        queries: Queries::new(
            read.clone(),
            store.clone(),
            config.read_wait(),
            config.max_held_reads,
        ),
        apps: Arc::new(apps),
        rates: RateLimits::new(store.clone(), config.default_rate()),
        projection,
        metrics,
        webhooks,
    });
    Ok(Service { ctx, store, read })
}

/// Binds `config.listen` and serves until Ctrl-C or SIGTERM. Then, within the configured
/// grace: no new connection is accepted, every request already accepted is answered (the
/// batch in flight commits), and the outbox goes to the bus as far as the bus takes it.
pub async fn serve(config: &Config) -> Result<(), StartError> {
    let service = start(config).await?;
    let listener = bind(&config.listen).await?;
    tracing::info!(addr = ?listener.local_addr(), "ledgerflow listening; Swagger UI at /docs");
    let grace = config.shutdown_grace();
    let signaled = Arc::new(std::sync::OnceLock::new());
    let stop = {
        let signaled = signaled.clone();
        async move {
            shutdown().await;
            let _ = signaled.set(Instant::now());
            tracing::info!(?grace, "stopping: answering the requests accepted");
        }
    };
    listener::serve(
        listener,
        api::routes(service.ctx.clone()),
        config.connection_limits(),
        stop,
        Some(grace),
    )
    .await;
    // Attempts in flight are sent again by whichever instance takes the webhooks next.
    service.ctx.webhooks.stop().await;
    if config.projector {
        let since = signaled.get().map_or(Duration::ZERO, Instant::elapsed);
        let left = service
            .ctx
            .projection
            .flush(grace.saturating_sub(since))
            .await;
        tracing::info!(outbox_left = left, "stopped");
    }
    Ok(())
}

/// Serves `config` on an ephemeral port in the background (for tests and the benchmark).
pub async fn spawn(config: &Config) -> Result<(SocketAddr, Service), StartError> {
    let service = start(config).await?;
    let listener = bind("127.0.0.1:0").await?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: "127.0.0.1:0".to_owned(),
        source,
    })?;
    let routes = api::routes(service.ctx.clone());
    let limits = config.connection_limits();
    let forever = std::future::pending();
    tokio::spawn(async move { listener::serve(listener, routes, limits, forever, None).await });
    Ok((addr, service))
}

async fn bind(addr: &str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen {
            addr: addr.to_owned(),
            source,
        })
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
