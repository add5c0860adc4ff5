//! Configuration: command-line flags over environment variables over a
//! `.env` file over defaults. Every value is checked here, once, and a wrong
//! one stops start-up with a message that names the variable.

use crate::domain::money::Currency;
use crate::domain::reminders::ReminderPolicy;
use chrono::NaiveTime;
use chrono_tz::Tz;
use clap::Args;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The settings as given, before checking. Each flag also reads the
/// environment variable of the same meaning.
#[derive(Debug, Clone, Default, Args)]
pub struct RawSettings {
    /// Database: `postgres://…` for PostgreSQL, `sqlite://PATH` for a given SQLite file; default an SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Folder for the SQLite file and the email outbox.
    #[arg(long, env = "DUETRACK_DATA_DIR", global = true)]
    pub data_dir: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "DUETRACK_BIND", global = true)]
    pub bind: Option<String>,
    /// Public address of the service, used in links sent by email.
    #[arg(long, env = "DUETRACK_BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// User name of the owner account created on first start.
    #[arg(long, env = "DUETRACK_ADMIN_USER", global = true)]
    pub admin_user: Option<String>,
    /// Password of the owner account created on first start (generated and printed once when absent).
    #[arg(
        long,
        env = "DUETRACK_ADMIN_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub admin_password: Option<String>,
    /// The shop's name, shown on pages and in emails.
    #[arg(long, env = "SHOP_NAME", global = true)]
    pub shop_name: Option<String>,
    /// ISO 4217 currency of every amount.
    #[arg(long, env = "DUETRACK_CURRENCY", global = true)]
    pub currency: Option<String>,
    /// IANA time zone that decides what "today" is.
    #[arg(long, env = "DUETRACK_TIMEZONE", global = true)]
    pub timezone: Option<String>,
    /// Local time of the daily reminder run, HH:MM.
    #[arg(long, env = "DUETRACK_REMINDER_TIME", global = true)]
    pub reminder_time: Option<String>,
    /// default (3 days before, on the day, weekly while overdue), daily, or schedule:BEFORE:REPEAT.
    #[arg(long, env = "DUETRACK_REMINDER_POLICY", global = true)]
    pub reminder_policy: Option<String>,
    /// on (default) runs the daily reminders inside `serve`; off leaves them to `duetrack remind` (e.g. from cron).
    #[arg(long, env = "DUETRACK_SCHEDULER", global = true)]
    pub scheduler: Option<String>,
    /// Email of the owner account: the daily digest goes there.
    #[arg(long, env = "DUETRACK_ADMIN_EMAIL", global = true)]
    pub admin_email: Option<String>,
    /// Seconds before the first retry of an email that could not be sent; each retry doubles it.
    #[arg(long, env = "DUETRACK_EMAIL_RETRY_SECONDS", global = true)]
    pub email_retry_seconds: Option<String>,
    /// The longest wait between two attempts, in seconds.
    #[arg(long, env = "DUETRACK_EMAIL_RETRY_MAX_SECONDS", global = true)]
    pub email_retry_max_seconds: Option<String>,
    /// Attempts before an email that keeps failing is marked failed.
    #[arg(long, env = "DUETRACK_EMAIL_MAX_ATTEMPTS", global = true)]
    pub email_max_attempts: Option<String>,
    /// UPI id (VPA) customers can pay to.
    #[arg(long, env = "DUETRACK_UPI_ID", global = true)]
    pub upi_id: Option<String>,
    #[arg(long, env = "SMTP_HOST", global = true)]
    pub smtp_host: Option<String>,
    #[arg(long, env = "SMTP_PORT", global = true)]
    pub smtp_port: Option<String>,
    /// none, starttls or tls.
    #[arg(long, env = "SMTP_SECURITY", global = true)]
    pub smtp_security: Option<String>,
    #[arg(long, env = "SMTP_USERNAME", global = true)]
    pub smtp_username: Option<String>,
    #[arg(long, env = "SMTP_PASSWORD", global = true, hide_env_values = true)]
    pub smtp_password: Option<String>,
    #[arg(long, env = "EMAIL_FROM", global = true)]
    pub email_from: Option<String>,
    /// Largest number of database connections this node opens.
    #[arg(long, env = "DUETRACK_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<String>,
    /// Milliseconds a payment writer waits for more payments to join a batch (group commit); 0 takes whatever waited while the last batch committed.
    #[arg(long, env = "DUETRACK_PAYMENT_BATCH_LINGER_MS", global = true)]
    pub payment_batch_linger_ms: Option<String>,
    /// The most payments recorded in one transaction.
    #[arg(long, env = "DUETRACK_PAYMENT_BATCH_MAX", global = true)]
    pub payment_batch_max: Option<String>,
    /// Payment writers working at once on PostgreSQL (SQLite has one).
    #[arg(long, env = "DUETRACK_PAYMENT_WRITERS", global = true)]
    pub payment_writers: Option<String>,
    /// Minutes a sign-in stays valid without use.
    #[arg(long, env = "DUETRACK_SESSION_IDLE_MINUTES", global = true)]
    pub session_idle_minutes: Option<String>,
    /// true when a reverse proxy sets X-Forwarded-For: the client address is taken from it.
    #[arg(long, env = "DUETRACK_TRUST_PROXY", global = true)]
    pub trust_proxy: Option<String>,
    /// Hours a sign-in stays valid.
    #[arg(long, env = "DUETRACK_SESSION_HOURS", global = true)]
    pub session_hours: Option<String>,
    /// The activity log's chain key file (created on first serve or migrate); default <data dir>/chain.key. Checkpoints go to chain.anchors beside it.
    #[arg(long, env = "DUETRACK_CHAIN_KEY_FILE", global = true)]
    pub chain_key_file: Option<String>,
    /// Seconds a client has to send a whole request head, from connecting or from the end of the previous response.
    #[arg(long, env = "DUETRACK_HEADER_TIMEOUT_SECONDS", global = true)]
    pub header_timeout_seconds: Option<String>,
    /// Seconds a connection may go without reading or writing a byte before it is closed.
    #[arg(long, env = "DUETRACK_IDLE_TIMEOUT_SECONDS", global = true)]
    pub idle_timeout_seconds: Option<String>,
    /// Most connections open at once, from all clients together.
    #[arg(long, env = "DUETRACK_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<String>,
    /// Most connections open at once from one client address.
    #[arg(long, env = "DUETRACK_MAX_CONNECTIONS_PER_ADDRESS", global = true)]
    pub max_connections_per_address: Option<String>,
    /// Most requests being answered at once; one more is answered 503 at once.
    #[arg(long, env = "DUETRACK_MAX_REQUESTS_IN_FLIGHT", global = true)]
    pub max_requests_in_flight: Option<String>,
    /// Most requests being answered at once for one client address (with DUETRACK_TRUST_PROXY, the forwarded one).
    #[arg(long, env = "DUETRACK_MAX_REQUESTS_PER_ADDRESS", global = true)]
    pub max_requests_per_address: Option<String>,
}

#[derive(Debug, Clone)]
pub enum DatabaseConfig {
    Sqlite { path: PathBuf },
    Postgres { url: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpSecurity {
    None,
    StartTls,
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// How often and how long undelivered email is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub first_delay_seconds: u64,
    pub max_delay_seconds: u64,
    pub max_attempts: i64,
}

impl RetryPolicy {
    /// The wait after `attempts` failed attempts: doubling from the first
    /// delay, capped.
    pub fn delay_after(&self, attempts: i64) -> u64 {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        self.first_delay_seconds
            .saturating_mul(1u64 << doublings)
            .min(self.max_delay_seconds)
    }
}

/// Parses a whole number within a range, naming the variable when it is not.
fn number<T: std::str::FromStr + PartialOrd + fmt::Display + Copy>(
    variable: &'static str,
    value: &Option<String>,
    default: T,
    range: (T, T),
) -> Result<T, ConfigError> {
    match given(value) {
        None => Ok(default),
        Some(text) => text
            .parse::<T>()
            .ok()
            .filter(|n| *n >= range.0 && *n <= range.1)
            .ok_or_else(|| {
                bad(
                    variable,
                    format!("'{text}' is not a number from {} to {}", range.0, range.1),
                )
            }),
    }
}

/// Checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The settings as given, kept so that changes made on the Settings
    /// page are checked by the same rules as the environment.
    pub raw: RawSettings,
    pub database: DatabaseConfig,
    pub data_dir: PathBuf,
    /// The secret key the activity log is chained under, kept outside the
    /// database; anchors are written beside it.
    pub chain_key_file: PathBuf,
    pub bind: SocketAddr,
    pub base_url: String,
    pub admin_user: String,
    pub admin_password: Option<String>,
    pub shop_name: String,
    pub currency: Currency,
    pub timezone: Tz,
    pub reminder_time: NaiveTime,
    pub reminder_policy: ReminderPolicy,
    pub scheduler_enabled: bool,
    pub admin_email: Option<String>,
    pub email_retry: RetryPolicy,
    pub upi_id: Option<String>,
    pub smtp: Option<SmtpConfig>,
    pub email_from: Option<String>,
    pub db_max_connections: u32,
    /// How payments are gathered for group commit.
    pub batching: crate::store::ledger::Batching,
    pub session_hours: i64,
    pub session_idle_minutes: i64,
    pub trust_proxy: bool,
    /// How long a client has to send a request head (and how long an idle
    /// keep-alive connection waits for the next one).
    pub header_timeout: std::time::Duration,
    /// How long a connection may go without a byte read or written.
    pub idle_timeout: std::time::Duration,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    /// Requests answered at once, in all and per client address, past
    /// which more are shed at once instead of queueing.
    pub max_requests_in_flight: usize,
    pub max_requests_per_address: usize,
}

/// A wrong configuration value, naming the variable that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn bad(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// An empty value counts as not set, as in most `.env` files.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The original system's variable names, read when ours are not set.
fn legacy(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    pub fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
        let data_dir = PathBuf::from(given(&raw.data_dir).unwrap_or("./data"));
        let database = match given(&raw.database_url) {
            None => DatabaseConfig::Sqlite {
                path: data_dir.join("duetrack.db"),
            },
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                DatabaseConfig::Postgres {
                    url: url.to_string(),
                }
            }
            Some(url) if url.starts_with("sqlite:") => {
                let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty() || path == ":memory:" {
                    return Err(bad(
                        "DATABASE_URL",
                        "an SQLite URL must name a file, e.g. sqlite://data/duetrack.db",
                    ));
                }
                DatabaseConfig::Sqlite {
                    path: PathBuf::from(path),
                }
            }
            Some(other) => {
                return Err(bad(
                    "DATABASE_URL",
                    format!("'{other}' is neither postgres://… nor sqlite://…"),
                ));
            }
        };

        let bind_text = given(&raw.bind).unwrap_or("127.0.0.1:8080");
        let bind: SocketAddr = bind_text.parse().map_err(|_| {
            bad(
                "DUETRACK_BIND",
                format!("'{bind_text}' is not an address and port such as 127.0.0.1:8080"),
            )
        })?;

        let base_url = match given(&raw.base_url) {
            Some(url) => {
                let ok = (url.starts_with("http://") || url.starts_with("https://"))
                    && url
                        .split("://")
                        .nth(1)
                        .is_some_and(|rest| !rest.is_empty() && !rest.contains(' '));
                if !ok {
                    return Err(bad(
                        "DUETRACK_BASE_URL",
                        format!("'{url}' is not an http:// or https:// URL"),
                    ));
                }
                url.trim_end_matches('/').to_string()
            }
            None => format!("http://{bind}"),
        };

        let admin_user = given(&raw.admin_user).unwrap_or("admin").to_string();
        if admin_user.len() > 64
            || !admin_user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(bad(
                "DUETRACK_ADMIN_USER",
                "use up to 64 letters, digits, dots, dashes or underscores",
            ));
        }
        let admin_password = raw.admin_password.clone().filter(|p| !p.is_empty());
        if admin_password
            .as_ref()
            .is_some_and(|p| p.chars().count() > 256)
        {
            return Err(bad(
                "DUETRACK_ADMIN_PASSWORD",
                "is longer than 256 characters",
            ));
        }

        let shop_name = given(&raw.shop_name)
            .map(str::to_string)
            .or_else(|| legacy("shop_name").map(|s| s.trim().trim_matches('"').to_string()))
            .unwrap_or_else(|| "My Shop".to_string());

        let currency = Currency::parse(given(&raw.currency).unwrap_or("INR"))
            .map_err(|m| bad("DUETRACK_CURRENCY", m))?;

        let tz_text = given(&raw.timezone).unwrap_or("UTC");
        let timezone: Tz = tz_text.parse().map_err(|_| {
            bad(
                "DUETRACK_TIMEZONE",
                format!("'{tz_text}' is not an IANA time zone such as Asia/Kolkata"),
            )
        })?;

        let time_text = given(&raw.reminder_time).unwrap_or("09:00");
        let reminder_time = NaiveTime::parse_from_str(time_text, "%H:%M").map_err(|_| {
            bad(
                "DUETRACK_REMINDER_TIME",
                format!("'{time_text}' is not a time of day HH:MM such as 09:00"),
            )
        })?;

        let reminder_policy =
            ReminderPolicy::parse(given(&raw.reminder_policy).unwrap_or("default"))
                .map_err(|m| bad("DUETRACK_REMINDER_POLICY", m))?;
        let scheduler_enabled = match given(&raw.scheduler)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("on") | Some("true") | Some("1") => true,
            Some("off") | Some("false") | Some("0") => false,
            Some(other) => {
                return Err(bad(
                    "DUETRACK_SCHEDULER",
                    format!("'{other}' is not on or off"),
                ));
            }
        };
        let admin_email = match given(&raw.admin_email) {
            Some(e) => Some(
                crate::domain::fields::Email::parse(e)
                    .map_err(|m| bad("DUETRACK_ADMIN_EMAIL", m.0))?
                    .as_str()
                    .to_string(),
            ),
            None => None,
        };
        let email_retry = RetryPolicy {
            first_delay_seconds: number(
                "DUETRACK_EMAIL_RETRY_SECONDS",
                &raw.email_retry_seconds,
                10,
                (1, 3600),
            )?,
            max_delay_seconds: number(
                "DUETRACK_EMAIL_RETRY_MAX_SECONDS",
                &raw.email_retry_max_seconds,
                60,
                (1, 86_400),
            )?,
            max_attempts: number(
                "DUETRACK_EMAIL_MAX_ATTEMPTS",
                &raw.email_max_attempts,
                1440,
                (1, 100_000),
            )?,
        };

        let upi_id = match given(&raw.upi_id) {
            Some(id) => {
                let valid = id
                    .split_once('@')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('@'))
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
                if !valid {
                    return Err(bad(
                        "DUETRACK_UPI_ID",
                        format!("'{id}' is not a UPI id such as shop@okbank"),
                    ));
                }
                Some(id.to_string())
            }
            None => None,
        };

        let smtp_username = given(&raw.smtp_username)
            .map(str::to_string)
            .or_else(|| legacy("EMAIL_ADDRESS"));
        let smtp_password = raw
            .smtp_password
            .clone()
            .filter(|p| !p.is_empty())
            .or_else(|| legacy("EMAIL_PASSWORD"));
        let security = match given(&raw.smtp_security)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => None,
            Some("none") => Some(SmtpSecurity::None),
            Some("starttls") => Some(SmtpSecurity::StartTls),
            Some("tls") => Some(SmtpSecurity::Tls),
            Some(other) => {
                return Err(bad(
                    "SMTP_SECURITY",
                    format!("'{other}' is not one of none, starttls, tls"),
                ));
            }
        };
        let port = match given(&raw.smtp_port) {
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                bad(
                    "SMTP_PORT",
                    format!("'{p}' is not a port number from 1 to 65535"),
                )
            })?),
            None => None,
        };
        // The original system sent through Gmail with only an address and an
        // app password; keep that working.
        let host = given(&raw.smtp_host).map(str::to_string).or_else(|| {
            (smtp_username
                .as_deref()
                .is_some_and(|u| u.ends_with("@gmail.com"))
                && smtp_password.is_some())
            .then(|| "smtp.gmail.com".to_string())
        });
        let smtp = host.map(|host| {
            let security = security.clone().unwrap_or(match port {
                Some(465) => SmtpSecurity::Tls,
                _ => SmtpSecurity::StartTls,
            });
            let port = port.unwrap_or(match security {
                SmtpSecurity::None => 25,
                SmtpSecurity::StartTls => 587,
                SmtpSecurity::Tls => 465,
            });
            SmtpConfig {
                host,
                port,
                security,
                username: smtp_username.clone(),
                password: smtp_password.clone(),
            }
        });
        let email_from = given(&raw.email_from).map(str::to_string).or(smtp_username);
        if let Some(from) = &email_from {
            let address = from
                .rsplit_once('<')
                .map_or(from.as_str(), |(_, a)| a.trim_end_matches('>'));
            if crate::domain::fields::Email::parse(address).is_err() {
                return Err(bad(
                    "EMAIL_FROM",
                    format!("'{from}' is not an email address"),
                ));
            }
        }

        let db_max_connections = number(
            "DUETRACK_DB_MAX_CONNECTIONS",
            &raw.db_max_connections,
            10,
            (1, 1000),
        )?;
        let batching = crate::store::ledger::Batching {
            linger: std::time::Duration::from_millis(number(
                "DUETRACK_PAYMENT_BATCH_LINGER_MS",
                &raw.payment_batch_linger_ms,
                0,
                (0, 1000),
            )?),
            max_batch: number(
                "DUETRACK_PAYMENT_BATCH_MAX",
                &raw.payment_batch_max,
                256,
                (1, 1000),
            )?,
            writers: number("DUETRACK_PAYMENT_WRITERS", &raw.payment_writers, 2, (1, 16))?,
        };
        let session_hours = number(
            "DUETRACK_SESSION_HOURS",
            &raw.session_hours,
            12,
            (1, 24 * 90),
        )?;
        let session_idle_minutes = number(
            "DUETRACK_SESSION_IDLE_MINUTES",
            &raw.session_idle_minutes,
            120,
            (1, 60 * 24 * 90),
        )?;
        let header_timeout = std::time::Duration::from_secs(number(
            "DUETRACK_HEADER_TIMEOUT_SECONDS",
            &raw.header_timeout_seconds,
            10,
            (1, 300),
        )?);
        let idle_timeout = std::time::Duration::from_secs(number(
            "DUETRACK_IDLE_TIMEOUT_SECONDS",
            &raw.idle_timeout_seconds,
            60,
            (1, 3600),
        )?);
        let max_connections = number(
            "DUETRACK_MAX_CONNECTIONS",
            &raw.max_connections,
            4096,
            (1, 1_000_000),
        )?;
        let max_connections_per_address = number(
            "DUETRACK_MAX_CONNECTIONS_PER_ADDRESS",
            &raw.max_connections_per_address,
            64,
            (1, 1_000_000),
        )?;
        let max_requests_in_flight = number(
            "DUETRACK_MAX_REQUESTS_IN_FLIGHT",
            &raw.max_requests_in_flight,
            512,
            (1, 1_000_000),
        )?;
        let max_requests_per_address = number(
            "DUETRACK_MAX_REQUESTS_PER_ADDRESS",
            &raw.max_requests_per_address,
            64,
            (1, 1_000_000),
        )?;
        let trust_proxy = match given(&raw.trust_proxy)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false") | Some("0") | Some("no") | Some("off") => false,
            Some("true") | Some("1") | Some("yes") | Some("on") => true,
            Some(other) => {
                return Err(bad(
                    "DUETRACK_TRUST_PROXY",
                    format!("'{other}' is not true or false"),
                ));
            }
        };

        Ok(Config {
            raw: raw.clone(),
            database,
            chain_key_file: given(&raw.chain_key_file)
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("chain.key")),
            data_dir,
            bind,
            base_url,
            admin_user,
            admin_password,
            shop_name,
            currency,
            timezone,
            reminder_time,
            reminder_policy,
            scheduler_enabled,
            admin_email,
            email_retry,
            upi_id,
            smtp,
            email_from,
            db_max_connections,
            batching,
            session_hours,
            session_idle_minutes,
            trust_proxy,
            header_timeout,
            idle_timeout,
            max_connections,
            max_connections_per_address,
            max_requests_in_flight,
            max_requests_per_address,
        })
    }

    /// The settings the owner may change on the Settings page, by name.
    pub const EDITABLE: [&'static str; 6] = [
        "shop_name",
        "currency",
        "timezone",
        "reminder_time",
        "reminder_policy",
        "upi_id",
    ];

    /// This configuration with saved settings applied over it; each one is
    /// checked as the environment variable would be.
    pub fn with_settings(&self, settings: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut raw = self.raw.clone();
        for (key, value) in settings {
            let value = Some(value.clone());
            match key.as_str() {
                "shop_name" => raw.shop_name = value,
                "currency" => raw.currency = value,
                "timezone" => raw.timezone = value,
                "reminder_time" => raw.reminder_time = value,
                "reminder_policy" => raw.reminder_policy = value,
                "upi_id" => raw.upi_id = value,
                _ => {}
            }
        }
        Config::from_raw(&raw)
    }

    /// This configuration (the environment's) with the settings saved in
    /// the database laid over it. A saved value that no longer passes the
    /// checks is skipped with a warning rather than stopping the service.
    pub fn with_saved(&self, saved: &[(String, String)]) -> Config {
        let mut config = self.clone();
        for pair in saved {
            match config.with_settings(std::slice::from_ref(pair)) {
                Ok(next) => config = next,
                Err(e) => {
                    tracing::warn!(setting = %pair.0, error = %e, "a saved setting is not valid; using the environment's value")
                }
            }
        }
        config
    }

    /// The value of an editable setting as it is now, for the Settings form.
    pub fn setting(&self, key: &str) -> String {
        match key {
            "shop_name" => self.shop_name.clone(),
            "currency" => self.currency.code(),
            "timezone" => self.timezone.name().to_string(),
            "reminder_time" => self.reminder_time.format("%H:%M").to_string(),
            "reminder_policy" => match self.reminder_policy {
                ReminderPolicy::Daily => "daily".to_string(),
                p if p == ReminderPolicy::DEFAULT => "default".to_string(),
                ReminderPolicy::Schedule {
                    days_before,
                    repeat_days,
                } => format!("schedule:{days_before}:{repeat_days}"),
            },
            "upi_id" => self.upi_id.clone().unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// Today's date where the shop is.
    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.timezone)
            .date_naive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_an_sqlite_file_in_the_data_dir() {
        let config = Config::from_raw(&RawSettings::default()).unwrap();
        assert!(
            matches!(config.database, DatabaseConfig::Sqlite { ref path } if path.ends_with("duetrack.db"))
        );
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.currency.code(), "INR");
        assert_eq!(config.admin_user, "admin");
    }

    #[test]
    fn retries_back_off_exponentially_up_to_a_cap() {
        let retry = RetryPolicy {
            first_delay_seconds: 15,
            max_delay_seconds: 600,
            max_attempts: 10,
        };
        let delays: Vec<u64> = (1..=7).map(|n| retry.delay_after(n)).collect();
        assert_eq!(delays, vec![15, 30, 60, 120, 240, 480, 600]);
    }

    #[test]
    fn wrong_values_name_their_variable() {
        let cases: Vec<(&str, RawSettings)> = vec![
            (
                "DUETRACK_BIND",
                RawSettings {
                    bind: Some("nowhere".into()),
                    ..Default::default()
                },
            ),
            (
                "DUETRACK_CURRENCY",
                RawSettings {
                    currency: Some("RUPEES".into()),
                    ..Default::default()
                },
            ),
            (
                "DUETRACK_TIMEZONE",
                RawSettings {
                    timezone: Some("Mars/Olympus".into()),
                    ..Default::default()
                },
            ),
            (
                "DUETRACK_REMINDER_TIME",
                RawSettings {
                    reminder_time: Some("25:00".into()),
                    ..Default::default()
                },
            ),
            (
                "SMTP_SECURITY",
                RawSettings {
                    smtp_security: Some("ssl3".into()),
                    ..Default::default()
                },
            ),
            (
                "SMTP_PORT",
                RawSettings {
                    smtp_port: Some("99999".into()),
                    ..Default::default()
                },
            ),
            (
                "DATABASE_URL",
                RawSettings {
                    database_url: Some("mysql://x".into()),
                    ..Default::default()
                },
            ),
            (
                "DUETRACK_BASE_URL",
                RawSettings {
                    base_url: Some("ftp://x".into()),
                    ..Default::default()
                },
            ),
        ];
        for (variable, raw) in cases {
            assert_eq!(Config::from_raw(&raw).unwrap_err().variable, variable);
        }
    }
}

/// The configuration as it stands now. The owner may change some settings
/// while the service runs, so readers take a snapshot of it.
#[derive(Debug)]
pub struct LiveConfig(std::sync::RwLock<std::sync::Arc<Config>>);

impl LiveConfig {
    pub fn new(config: Config) -> Self {
        Self(std::sync::RwLock::new(std::sync::Arc::new(config)))
    }

    pub fn get(&self) -> std::sync::Arc<Config> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set(&self, config: Config) {
        let config = std::sync::Arc::new(config);
        match self.0.write() {
            Ok(mut guard) => *guard = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
    }
}
