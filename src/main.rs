//! The `duetrack` binary: reads `.env`, parses flags and environment,
//! checks the configuration and runs the chosen command.

use clap::Parser;
use duetrack::cli::{AdminAction, Cli, Command};
use duetrack::config::Config;
use duetrack::startup::{Application, open_store, shutdown_signal};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // A missing .env is normal; a malformed one is a configuration error.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("duetrack: cannot read .env: {e}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let config = match Config::from_raw(&cli.settings) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("duetrack: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("duetrack: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("duetrack: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => {
            let app = Application::build(config).await?;
            tracing::info!(address = %app.local_addr(), "duetrack is listening");
            app.run_until(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { new_chain_key } => {
            let (store, _) = open_store(&config).await?;
            if new_chain_key && store.db.chain_key().is_some() {
                eprintln!(
                    "duetrack: --new-chain-key: the chain key {} exists; it is never replaced",
                    config.chain_key_file.display()
                );
                return Ok(ExitCode::from(1));
            }
            duetrack::startup::ensure_chain_key(&store, &config, new_chain_key).await?;
            if new_chain_key {
                duetrack::startup::adopt_log(&store).await?;
                println!(
                    "made a new chain key at {} and accepted the activity log as it stands now; back the key file up",
                    config.chain_key_file.display()
                );
            }
            store.close().await;
            println!("the database schema is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Remind { dry_run, date } => {
            let code = remind(config.clone(), dry_run, date).await?;
            anchor(&config).await?;
            Ok(code)
        }
        Command::Admin { action } => {
            let code = admin(config.clone(), action).await?;
            anchor(&config).await?;
            Ok(code)
        }
        Command::Verify => {
            let (store, live) = open_store(&config).await?;
            let report = store.verify(live.get().currency).await?;
            store.close().await;
            println!(
                "checked {} customers, {} dues, {} payments and {} activity-log entries",
                report.customers, report.dues, report.payments, report.activity_entries
            );
            for note in &report.notes {
                println!("note: {note}");
            }
            if report.is_clean() {
                println!(
                    "OK: every balance equals its ledger, allocations add up, the ledger matches the activity log, and the hash chain is intact{}",
                    if report.anchors > 0 {
                        format!(" and holds all {} anchor(s)", report.anchors)
                    } else {
                        String::new()
                    }
                );
            }
            Ok(problems(&report))
        }
        Command::Backup { file, force } => {
            match duetrack::backup::backup(&config, &file, force).await {
                Ok(done) => {
                    let r = &done.source;
                    println!(
                        "backed up to {} ({} bytes): {} customers, {} dues, {} payments; the source database {}",
                        done.file.display(),
                        done.bytes,
                        r.customers,
                        r.dues,
                        r.payments,
                        if r.is_clean() {
                            "verifies OK"
                        } else {
                            "has problems"
                        }
                    );
                    Ok(problems(r))
                }
                Err(e) => Ok(refused(&e)),
            }
        }
        Command::Export { dir, force } => {
            match duetrack::export::export(&config, &dir, force).await {
                Ok(done) => {
                    println!(
                        "exported {} files ({} rows) and {} to {}",
                        done.files.len(),
                        done.rows(),
                        duetrack::export::MANIFEST,
                        done.dir.display()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("duetrack: {e:#}");
                    Ok(ExitCode::from(e.exit_code()))
                }
            }
        }
        Command::Import {
            path,
            invite,
            dry_run,
        } => {
            let options = duetrack::import::ImportOptions { invite, dry_run };
            match duetrack::import::import(&config, &path, &options).await {
                Ok(done) => {
                    if !done.dry_run {
                        anchor(&config).await?;
                    }
                    print!("{done}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprint!("duetrack: {e:#}");
                    if !format!("{e:#}").ends_with('\n') {
                        eprintln!();
                    }
                    Ok(ExitCode::from(e.exit_code()))
                }
            }
        }
        Command::Restore { file, force } => {
            match duetrack::backup::restore(&config, &file, force).await {
                Ok(r) => {
                    println!(
                        "restored {}: {} customers, {} dues, {} payments and {} activity-log entries; {}",
                        file.display(),
                        r.customers,
                        r.dues,
                        r.payments,
                        r.activity_entries,
                        if r.is_clean() {
                            "verify: OK"
                        } else {
                            "verify found problems"
                        }
                    );
                    Ok(problems(&r))
                }
                Err(e) => Ok(refused(&e)),
            }
        }
    }
}

/// Anchors the activity log's head at the end of a command that wrote.
async fn anchor(config: &Config) -> anyhow::Result<()> {
    let (store, _) = open_store(config).await?;
    let written = store.write_anchor(None).await;
    store.close().await;
    written.map(|_| ())
}

/// Lists what a verification found; exit code 1 if anything.
fn problems(report: &duetrack::store::verify::Report) -> ExitCode {
    if report.is_clean() {
        return ExitCode::SUCCESS;
    }
    println!("FOUND {} PROBLEM(S):", report.problems.len());
    for p in &report.problems {
        println!("  - {p}");
    }
    ExitCode::from(1)
}

fn refused(e: &duetrack::backup::BackupError) -> ExitCode {
    eprintln!("duetrack: {e:#}");
    ExitCode::from(e.exit_code())
}

async fn remind(config: Config, dry_run: bool, date: Option<String>) -> anyhow::Result<ExitCode> {
    let day = match date {
        Some(d) => match duetrack::domain::fields::parse_date(&d) {
            Ok(day) => day,
            Err(e) => {
                eprintln!("duetrack: --date: {e}");
                return Ok(ExitCode::from(2));
            }
        },
        None => config.today(),
    };
    let (store, live) = open_store(&config).await?;
    // Settings saved on the Settings page count here too.
    let config = live.get();
    let plan = store
        .reminder_plan(day, config.today(), config.reminder_policy)
        .await?;
    let money = |m: duetrack::domain::money::Money| config.currency.display(m);
    if dry_run {
        println!("Dry run for {day}: nothing is sent or recorded.");
    }
    let mut due = 0;
    for c in plan.iter().filter(|c| c.reason.is_some()) {
        let label = if !c.will_be_sent() {
            "NOT SENT    "
        } else if dry_run {
            "WOULD REMIND"
        } else {
            "REMIND      "
        };
        let email = c
            .email
            .as_deref()
            .map(|e| format!(" <{e}>"))
            .unwrap_or_default();
        let held = c.held_back.map(|h| format!(" [{h}]")).unwrap_or_default();
        println!(
            "{label} #{} {}{email}: balance {}, overdue {} — {}{held}",
            c.customer_id,
            c.name,
            money(c.balance),
            money(c.overdue),
            c.reason.as_deref().unwrap_or_default()
        );
        if c.will_be_sent() {
            due += 1;
        }
    }
    if dry_run {
        println!("{due} customer(s) would be reminded.");
        store.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    let started = std::time::Instant::now();
    let run = duetrack::scheduler::run_daily(
        &store,
        &config,
        day,
        &duetrack::scheduler::node_id(),
        duetrack::domain::reminders::RunKind::OnTheDay,
    )
    .await?;
    println!(
        "Queued {} reminder(s) for {day}{} in {:.2} s.",
        run.reminders,
        if run.digest_queued {
            " and the owner's digest"
        } else {
            ""
        },
        started.elapsed().as_secs_f64()
    );
    let mailer = duetrack::notify::delivery::Mailer::from_config(&config)?;
    let started = std::time::Instant::now();
    let delivered = mailer.deliver_ready(&store).await?;
    if mailer.sends() {
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "Handled {delivered} message(s) from the outbox in {seconds:.2} s ({:.0} a second).",
            delivered as f64 / seconds.max(0.001)
        );
    } else {
        println!(
            "No SMTP server is configured: {delivered} message(s) written to {}.",
            mailer.outbox_dir().display()
        );
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Staff accounts and purges from the console. Acts as the owner, logged as "console".
async fn admin(config: Config, action: AdminAction) -> anyhow::Result<ExitCode> {
    use duetrack::domain::access::{self, Role};
    use duetrack::store::staff::{NewStaff, StaffPatch};
    let (store, live) = open_store(&config).await?;
    let choose = |given: Option<String>, username: &str| -> Result<(String, bool), String> {
        match given {
            Some(p) => access::check_new_password(&p, username)
                .map(|()| (p, false))
                .map_err(|why| format!("the password {why}")),
            None => Ok((access::generate_password(), true)),
        }
    };
    let outcome = match action {
        AdminAction::ResetPassword { username, password } => {
            let (password, generated) = match choose(password, &username) {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("duetrack: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let member =
                store.list_staff().await?.into_iter().find(|m| {
                    m.username.eq_ignore_ascii_case(&username) && m.disabled_at.is_none()
                });
            let Some(member) = member else {
                eprintln!("duetrack: there is no active staff account named {username}");
                return Ok(ExitCode::from(1));
            };
            store
                .update_staff(
                    "console",
                    Role::Owner,
                    member.id,
                    StaffPatch {
                        password: Some(password.clone()),
                        ..Default::default()
                    },
                )
                .await?;
            println!(
                "The password of {} is changed and its sessions have ended.",
                member.username
            );
            generated.then_some(password)
        }
        AdminAction::CreateStaff {
            username,
            role,
            password,
            email,
        } => {
            let Some(role) = Role::parse(&role) else {
                eprintln!("duetrack: --role: '{role}' is not owner, admin or staff");
                return Ok(ExitCode::from(2));
            };
            let username = match access::check_username(&username) {
                Ok(u) => u,
                Err(e) => {
                    eprintln!("duetrack: the user name: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let (password, generated) = match choose(password, &username) {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("duetrack: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let email = match email
                .map(|e| duetrack::domain::fields::Email::parse(&e))
                .transpose()
            {
                Ok(e) => e.map(|e| e.as_str().to_string()),
                Err(e) => {
                    eprintln!("duetrack: --email {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            match store
                .create_staff(
                    "console",
                    Role::Owner,
                    NewStaff {
                        username: username.clone(),
                        password: password.clone(),
                        role,
                        email,
                    },
                )
                .await
            {
                Ok(m) => println!("Created {} ({}).", m.username, m.role.as_str()),
                Err(e) => {
                    eprintln!("duetrack: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
            generated.then_some(password)
        }
        AdminAction::Purge { customer_id } => {
            let app = duetrack::app::App::new(store.clone(), std::sync::Arc::new(config), live);
            match app
                .purge_customer(&duetrack::app::console(), customer_id)
                .await
            {
                Ok(c) => println!(
                    "Purged the personal data of customer {}: it is now \"{}\" and cannot sign in; its ledger is kept.",
                    c.id, c.name
                ),
                Err(e) => {
                    eprintln!("duetrack: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
            None
        }
    };
    if let Some(password) = outcome {
        println!("  password: {password}\n  Keep it now: it will not be shown again.");
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
