use clap::Parser;
use ledgerflow::apps::{Apps, Rate};
use ledgerflow::config::{AppsCommand, Cli, CliCommand, Config};
use ledgerflow::metrics::Metrics;
use ledgerflow::{projection, server};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.config.workers(cores))
        .enable_all()
        .build();
    let outcome = match runtime {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ledgerflow: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let config = cli.config;
    match cli.command.unwrap_or(CliCommand::Serve) {
        CliCommand::Serve => {
            server::serve(&config).await?;
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Migrate => {
            let (store, _) = server::open(&config).await?;
            server::open_read_model(&config, &store).await?;
            println!(
                "the event store at {} and its read model are up to date",
                config.event_store_url
            );
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Rebuild => {
            let (store, _) = server::open(&config).await?;
            let read = server::open_read_model(&config, &store).await?;
            let bar =
                indicatif::ProgressBar::new(0).with_style(indicatif::ProgressStyle::with_template(
                    "rebuilding the read model {bar:40} {pos}/{len} rows ({per_sec}, {eta} left)",
                )?);
            let done = projection::rebuild::rebuild(&store, &read, &bar).await?;
            if read.shares_store() {
                println!(
                    "rebuilt the read model: nothing to copy (its entries, accounts, postings, \
                     lots, holds, reversals and events are the event store's tables)"
                );
            } else {
                println!(
                    "rebuilt the read model: {} entries, {} postings",
                    done.entries, done.postings
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Verify { wait } => verify(&config, wait).await,
        CliCommand::Backup { file } => {
            let store = ledgerflow::store::Store::connect(&config.event_store_url).await?;
            store.backup(&file).await?;
            println!("backed up the event store to {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Restore { file } => {
            ledgerflow::store::restore(&config.event_store_url, &file).await?;
            let (store, _) = server::open(&config).await?;
            server::open_read_model(&config, &store).await?;
            println!(
                "restored {} into {}; run `ledgerflow verify` to check it",
                file.display(),
                config.event_store_url
            );
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Apps { command } => {
            let (_, apps) = server::open(&config).await?;
            apps_command(&apps, command).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `ledgerflow verify`: exit 0 when the read model equals the event store, 2 when it is only
/// behind (a consistent prefix), 1 on a difference.
async fn verify(
    config: &Config,
    wait: Option<u64>,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let (store, _) = server::open(config).await?;
    let read = server::open_read_model(config, &store).await?;
    if let Some(seconds) = wait {
        let metrics = Arc::new(Metrics::default());
        let projection = server::projection(config, &store, &read, metrics).await?;
        if let Err(e) = projection.caught_up(Duration::from_secs(seconds)).await {
            eprintln!("ledgerflow: {e}");
        }
    }
    let report = projection::verify::verify(&store, &read).await?;
    for difference in &report.differences {
        println!("{difference}");
    }
    if report.unlisted > 0 {
        println!("… and {} more differences", report.unlisted);
    }
    if !report.is_clean() {
        return Err("the read model and the event store differ".into());
    }
    if let Some(behind) = report.behind {
        println!(
            "the read model is behind the event store by {} entries ({} accounts); no difference",
            behind.entries, behind.accounts
        );
        return Ok(ExitCode::from(2));
    }
    println!(
        "verified: {} accounts, {} postings, {} entries; read model equals the event store, books sum to zero",
        report.accounts, report.postings, report.entries
    );
    Ok(ExitCode::SUCCESS)
}

async fn apps_command(apps: &Apps, command: AppsCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        AppsCommand::Create { name } => {
            let (app, key) = apps.create(&name).await?;
            println!("created app {} ({})", app.name, app.id);
            println!("its API key follows; it is shown only this once:");
            println!("{key}");
        }
        AppsCommand::Rotate { name } => {
            let (row, key) = apps.rotate(&name).await?;
            println!(
                "added key {} to app {name}; its other keys work until revoked",
                row.id
            );
            println!("the new API key follows; it is shown only this once:");
            println!("{key}");
        }
        AppsCommand::Revoke { name, key } => {
            let n = apps.revoke(&name, key).await?;
            println!("revoked {n} key(s) of app {name}");
        }
        AppsCommand::Keys { name } => {
            for k in apps.keys(&name).await? {
                let revoked = k.revoked_at.map_or("active".to_owned(), |at| {
                    format!("revoked {}", ledgerflow::time::to_rfc3339(at))
                });
                let created = ledgerflow::time::to_rfc3339(k.created_at);
                println!("{}  created {created}  {revoked}", k.id);
            }
        }
        AppsCommand::Limits {
            name,
            rps,
            burst,
            default,
        } => {
            if default {
                apps.set_rate(&name, None).await?;
            } else if let Some(per_second) = rps {
                let burst = burst.unwrap_or(per_second.max(1));
                apps.set_rate(&name, Some(Rate { per_second, burst }))
                    .await?;
            }
            match apps.rate(&name).await? {
                Some(rate) if rate.is_unlimited() => println!("app {name}: no rate limit"),
                Some(rate) => println!(
                    "app {name}: {} requests/s, burst {}",
                    rate.per_second, rate.burst
                ),
                None => println!("app {name}: the service's default rate limit"),
            }
        }
        AppsCommand::Operations { name, file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let catalog = apps
                .set_operations(&name, &file.display().to_string(), &text)
                .await?;
            let names: Vec<&str> = catalog.operations().map(|o| o.name.as_str()).collect();
            println!("app {name} now posts: {}", names.join(", "));
        }
    }
    Ok(())
}
