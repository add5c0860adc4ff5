//! Putting the service together: connect and migrate the database, create
//! the owner on first start, bind the listener (port 0 in tests) and serve
//! until a shutdown signal, finishing requests in flight (see [`crate::server`]).

use crate::app::{App, apply_saved_settings};
use crate::chain::ChainKey;
use crate::config::{Config, LiveConfig};
use crate::notify::delivery::Mailer;
use crate::notify::letters::ShopLetters;
use crate::scheduler;
use crate::store::Store;
use crate::store::db::Db;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    store: Store,
    config: Arc<Config>,
    live: Arc<LiveConfig>,
    mailer: Mailer,
}

/// Opens the database named by the configuration and brings its schema up
/// to date. Returns the store and the configuration in force: `config`
/// with the settings saved in the database laid over it.
pub async fn open_store(config: &Config) -> anyhow::Result<(Store, Arc<LiveConfig>)> {
    let db = Db::connect(config)
        .await
        .map_err(|e| match &config.database {
            crate::config::DatabaseConfig::Sqlite { path } => {
                anyhow::anyhow!("cannot open the SQLite database {}: {e}", path.display())
            }
            crate::config::DatabaseConfig::Postgres { .. } => {
                anyhow::anyhow!("cannot connect to PostgreSQL (DATABASE_URL): {e}")
            }
        })?;
    db.migrate().await?;
    let key = ChainKey::load(&config.chain_key_file)
        .map_err(|e| anyhow::anyhow!("cannot read the chain key (DUETRACK_CHAIN_KEY_FILE): {e}"))?;
    db.set_chain_key(key.map(Arc::new));
    let live = Arc::new(LiveConfig::new(config.clone()));
    let store =
        Store::new(db, Arc::new(ShopLetters::new(live.clone()))).with_batching(config.batching);
    apply_saved_settings(&store, config, &live).await?;
    Ok((store, live))
}

/// Creates the chain key on first `serve` or `migrate`: every entry after
/// the current head is hashed under it from then on. Leaves a key that
/// exists alone.
/// Refuses when the log already has keyed entries (the key file is missing,
/// not new) unless `new_key_for_keyed_log`.
pub async fn ensure_chain_key(
    store: &Store,
    config: &Config,
    new_key_for_keyed_log: bool,
) -> anyhow::Result<()> {
    if store.db.chain_key().is_some() {
        return Ok(());
    }
    let (seq, _) = store.activity_head().await?;
    if store.keyed_entries().await? > 0 && !new_key_for_keyed_log {
        anyhow::bail!(
            "there is no chain key at {} (DUETRACK_CHAIN_KEY_FILE), but the activity log has entries hashed under one: put the key file back from where you keep its backup. If it is lost for good, `duetrack migrate --new-chain-key` makes a new key and accepts the log as it stands now.",
            config.chain_key_file.display()
        );
    }
    let key = ChainKey::create(&config.chain_key_file, seq + 1).map_err(|e| {
        anyhow::anyhow!(
            "cannot create the chain key {} (DUETRACK_CHAIN_KEY_FILE): {e}",
            config.chain_key_file.display()
        )
    })?;
    tracing::info!(
        file = %config.chain_key_file.display(),
        keyed_from = seq + 1,
        "created the activity log's chain key; back it up with the database (`duetrack backup` does not copy it)"
    );
    store.db.set_chain_key(Some(Arc::new(key)));
    store.write_anchor(None).await?;
    Ok(())
}

/// After a whole log was brought in (a restore, or the import of an
/// export): records in the key file a MAC over it as it now stands, moves
/// the old anchors aside (they describe the log that was replaced) and
/// anchors the new head. Without a key there is nothing to record.
pub async fn adopt_log(store: &Store) -> anyhow::Result<Option<std::path::PathBuf>> {
    let Some(key) = store.db.chain_key() else {
        return Ok(None);
    };
    let (through, mac) = store.log_mac(&key).await?;
    let mut key = (*key).clone();
    key.set_adopted(through, mac).map_err(|e| {
        anyhow::anyhow!("cannot update the chain key {}: {e}", key.path().display())
    })?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let aside = key
        .set_anchors_aside(&stamp)
        .map_err(|e| anyhow::anyhow!("cannot move the anchors file aside: {e}"))?;
    store.db.set_chain_key(Some(Arc::new(key)));
    store.write_anchor(None).await?;
    Ok(aside)
}

/// Anchors the head once a minute while it moves, and once more at the end.
async fn anchoring(store: Store) {
    let mut last = None;
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        match store.write_anchor(last).await {
            Ok(Some(seq)) => last = Some(seq),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not anchor the activity log; will retry in a minute")
            }
        }
    }
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Once per process, so that metrics recorded anywhere are kept.
        crate::telemetry::install();
        let (store, live) = open_store(&config).await?;
        ensure_chain_key(&store, &config, false).await?;
        if let Some(password) = store
            .ensure_owner(
                &config.admin_user,
                config.admin_password.as_deref(),
                config.admin_email.as_deref(),
            )
            .await?
        {
            // Printed once, on the console only; never logged or stored.
            println!(
                "\n  duetrack created the owner account.\n    user name: {}\n    password:  {password}\n  Keep it now: it will not be shown again.\n",
                config.admin_user
            );
        }
        // The scheduler never catches up on a day before this one.
        store
            .record_first_start(config.today(), &scheduler::node_id())
            .await?;
        let listener = TcpListener::bind(config.bind).await.map_err(|e| {
            anyhow::anyhow!("cannot listen on {} (DUETRACK_BIND): {e}", config.bind)
        })?;
        let mailer = Mailer::from_config(&config)?;
        let config = Arc::new(config);
        let app = App::new(store.clone(), config.clone(), live.clone());
        Ok(Self {
            listener,
            router: crate::routes::router(app),
            store,
            config,
            live,
            mailer,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let mut background = vec![
            tokio::spawn(housekeeping(self.store.clone())),
            tokio::spawn(follow_settings(
                self.store.clone(),
                self.config.clone(),
                self.live.clone(),
            )),
            tokio::spawn(self.mailer.run(self.store.clone())),
            tokio::spawn(anchoring(self.store.clone())),
        ];
        if self.store.db.backend() == crate::store::db::Backend::Postgres {
            background.push(tokio::spawn(crate::store::seal::sealing(
                self.store.clone(),
            )));
        }
        if self.config.scheduler_enabled {
            background.push(tokio::spawn(scheduler::run(
                self.store.clone(),
                self.live.clone(),
            )));
        } else {
            tracing::info!(
                "the daily scheduler is off (DUETRACK_SCHEDULER=off); run `duetrack remind` instead"
            );
        }
        let mut limits = crate::server::Limits::of(&self.config);
        if let Some(files) = crate::server::raise_open_file_limit() {
            // Room for the database pools, the log and the outbox besides
            // connections, so that a full house is answered 503 rather than
            // failing to accept.
            let reserve = 64 + 2 * self.config.db_max_connections as usize;
            let fits = usize::try_from(files)
                .unwrap_or(usize::MAX)
                .saturating_sub(reserve)
                .max(1);
            if limits.max_connections > fits {
                tracing::warn!(
                    open_files = files,
                    "DUETRACK_MAX_CONNECTIONS ({}) is above what this process may open; serving at most {fits} connections at once (raise the open-files limit, ulimit -n, to allow more)",
                    limits.max_connections
                );
                limits.max_connections = fits;
            }
        }
        let result = crate::server::serve(self.listener, self.router, limits, shutdown).await;
        for task in background {
            task.abort();
        }
        if let Err(e) = self
            .store
            .seal_all(crate::store::seal::GAP_GRACE + Duration::from_secs(2))
            .await
        {
            tracing::warn!(error = %e, "could not seal the activity log at shutdown");
        }
        if let Err(e) = self.store.write_anchor(None).await {
            tracing::warn!(error = %e, "could not anchor the activity log at shutdown");
        }
        self.store.close().await;
        Ok(result?)
    }
}

/// Hourly: drops expired sessions and old idempotency keys.
async fn housekeeping(store: Store) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        if let Err(e) = store.purge_expired().await {
            tracing::warn!(error = %e, "housekeeping failed; will retry in an hour");
        }
    }
}

/// Picks up settings another node saved, twice a minute.
async fn follow_settings(store: Store, base: Arc<Config>, live: Arc<LiveConfig>) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = apply_saved_settings(&store, &base, &live).await {
            tracing::warn!(error = %e, "could not read the saved settings; keeping the current ones");
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
