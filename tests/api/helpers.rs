//! A running duetrack for each test: the real application on a loopback
//! port, backed by a fresh SQLite file or a fresh PostgreSQL database, and a
//! signed-in HTTP client.

use duetrack::config::{Config, RawSettings};
use duetrack::startup::Application;
use reqwest::StatusCode;
use serde_json::Value;
use std::net::SocketAddr;

pub const ADMIN_PASSWORD: &str = "correct-horse-battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("DUETRACK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Creates an empty PostgreSQL database and returns its URL. An unreachable
/// server fails the test: the suite is meant to run on both backends.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is not reachable at {admin} ({e}); start it, or set DUETRACK_TEST_POSTGRES_URL")
    });
    let name = format!("duetrack_test_{}", uuid_like());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_string();
    format!("{base}/{name}")
}

fn uuid_like() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Settings for a test instance: loopback on port 0 and a known owner password.
pub async fn test_settings(backend: Backend, dir: &std::path::Path) -> RawSettings {
    RawSettings {
        database_url: match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_postgres_database().await),
        },
        data_dir: Some(dir.to_string_lossy().into_owned()),
        bind: Some("127.0.0.1:0".into()),
        admin_password: Some(ADMIN_PASSWORD.into()),
        db_max_connections: Some("5".into()),
        timezone: Some("Asia/Kolkata".into()),
        // Daily runs happen when a test asks for them (`duetrack remind`).
        scheduler: Some("off".into()),
        ..Default::default()
    }
}

pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub token: String,
    /// The same settings as environment variables, for running the binary beside the app.
    pub env: Vec<(&'static str, String)>,
    pub settings: RawSettings,
    pub data_dir: std::path::PathBuf,
    pub _dir: tempfile::TempDir,
}

/// The settings the tests use, as the environment variables the binary reads.
pub fn settings_env(s: &RawSettings) -> Vec<(&'static str, String)> {
    let pairs = [
        ("DATABASE_URL", &s.database_url),
        ("DUETRACK_DATA_DIR", &s.data_dir),
        ("DUETRACK_TIMEZONE", &s.timezone),
        ("DUETRACK_BASE_URL", &s.base_url),
        ("SHOP_NAME", &s.shop_name),
        ("SMTP_HOST", &s.smtp_host),
        ("SMTP_PORT", &s.smtp_port),
        ("SMTP_SECURITY", &s.smtp_security),
        ("EMAIL_FROM", &s.email_from),
        ("DUETRACK_ADMIN_EMAIL", &s.admin_email),
        ("DUETRACK_REMINDER_POLICY", &s.reminder_policy),
        ("DUETRACK_EMAIL_RETRY_SECONDS", &s.email_retry_seconds),
        ("DUETRACK_REMINDER_TIME", &s.reminder_time),
    ];
    pairs
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
}

/// Settings that send email through a test SMTP server on `port`.
pub fn with_smtp(port: u16) -> impl FnOnce(&mut RawSettings) {
    move |s| {
        s.smtp_host = Some("127.0.0.1".into());
        s.smtp_port = Some(port.to_string());
        s.smtp_security = Some("none".into());
        s.email_from = Some("counter@sharma-stores.example".into());
        s.shop_name = Some("Sharma Stores".into());
        s.base_url = Some("https://khata.sharma-stores.example".into());
        s.admin_email = Some("owner@sharma-stores.example".into());
        s.email_retry_seconds = Some("1".into());
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut RawSettings)) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut settings = test_settings(backend, dir.path()).await;
    adjust(&mut settings);
    spawn_app_on(dir, settings).await
}

/// Starts the application on `dir` with `settings`, as made by
/// [`test_settings`], for a test that prepared the folder or database first.
pub async fn spawn_app_on(dir: tempfile::TempDir, settings: RawSettings) -> TestApp {
    let config = Config::from_raw(&settings).expect("test settings are valid");
    let app = Application::build(config)
        .await
        .expect("the application starts");
    let address = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let mut test_app = TestApp {
        address,
        client,
        token: String::new(),
        env: settings_env(&settings),
        settings,
        data_dir: dir.path().to_path_buf(),
        _dir: dir,
    };
    test_app.token = test_app
        .login("admin", ADMIN_PASSWORD)
        .await
        .expect("the owner can sign in");
    test_app
}

/// A response read as JSON, with its status and headers.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts an RFC 9457 problem with this status; returns its body.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "expected {status}, got {}: {}",
            self.status,
            self.body
        );
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(
            content_type, "application/problem+json",
            "body: {}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "a problem says what is wrong: {}",
            self.body
        );
        &self.body
    }

    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "expected {status}, got {}: {}",
            self.status,
            self.body
        );
        &self.body
    }
}

impl TestApp {
    /// Starts another node on this app's database (a second server process
    /// in all but name), with some settings changed.
    pub async fn another_node(&self, adjust: impl FnOnce(&mut RawSettings)) -> TestApp {
        let mut settings = self.settings.clone();
        adjust(&mut settings);
        let config = Config::from_raw(&settings).expect("node settings are valid");
        let app = Application::build(config).await.expect("the node starts");
        let address = app.local_addr();
        tokio::spawn(app.run_until(std::future::pending()));
        let mut node = TestApp {
            address,
            client: reqwest::Client::new(),
            token: String::new(),
            env: settings_env(&settings),
            settings,
            data_dir: self.data_dir.clone(),
            _dir: tempfile::tempdir().expect("a temporary directory"),
        };
        node.token = node
            .login("admin", ADMIN_PASSWORD)
            .await
            .expect("the owner can sign in on every node");
        node
    }

    /// Runs SQL (one or more statements) on the application's database
    /// behind its back.
    pub async fn raw_sql(&self, sql: &str) {
        use sqlx::Connection;
        match &self.settings.database_url {
            Some(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
            }
            None => {
                let url = format!("sqlite://{}", self.data_dir.join("duetrack.db").display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
            }
        }
    }

    /// Runs the real binary against this app's database and settings.
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_duetrack"));
        command
            .current_dir(&self.data_dir)
            .env_clear()
            .env("RUST_LOG", "warn");
        // PATH stays: `duetrack backup` finds pg_dump on it.
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command.args(args).output().await.expect("the binary runs")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub async fn login(&self, username: &str, password: &str) -> Result<String, Reply> {
        let reply = self
            .send(
                self.client
                    .post(self.url("/api/v1/auth/login"))
                    .json(&serde_json::json!({"username": username, "password": password})),
            )
            .await;
        if reply.status == StatusCode::OK {
            Ok(reply.body["token"].as_str().expect("a token").to_string())
        } else {
            Err(reply)
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn authed(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(&self.token)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.authed(self.client.get(self.url(path))))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.authed(self.client.post(self.url(path))).json(&body))
            .await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> Reply {
        self.send(
            self.authed(self.client.post(self.url(path)))
                .header("content-type", content_type)
                .body(body.to_string()),
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(self.authed(self.client.patch(self.url(path))).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.authed(self.client.delete(self.url(path))))
            .await
    }

    /// Creates a customer and returns its id.
    pub async fn customer(&self, name: &str) -> i64 {
        let reply = self
            .post("/api/v1/customers", serde_json::json!({"name": name}))
            .await;
        reply.ok(201)["id"].as_i64().expect("an id")
    }

    pub async fn add_due(&self, customer: i64, body: Value) -> Reply {
        self.post(&format!("/api/v1/customers/{customer}/dues"), body)
            .await
    }

    pub async fn pay(&self, customer: i64, body: Value) -> Reply {
        self.post(&format!("/api/v1/customers/{customer}/payments"), body)
            .await
    }

    pub async fn balance(&self, customer: i64) -> String {
        let reply = self.get(&format!("/api/v1/customers/{customer}")).await;
        reply.ok(200)["balance"]
            .as_str()
            .expect("a balance")
            .to_string()
    }
}

/// Runs each named test once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

/// The one-time link token in the newest `.eml` written for `email`.
pub async fn link_token(app: &TestApp, email: &str) -> String {
    for _ in 0..200 {
        let mut files: Vec<_> = std::fs::read_dir(app.data_dir.join("outbox"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        for path in files
            .iter()
            .rev()
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        {
            let mail = crate::smtp::parse(&std::fs::read(path).unwrap());
            if mail.to == email
                && let Some(after) = mail.text.split("token=").nth(1)
            {
                return after
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no link was written for {email}");
}

/// Opens the sign-in page as a browser would: the cookie it sets and the
/// form token in its hidden field.
pub async fn login_form(client: &reqwest::Client, app: &TestApp) -> (String, String) {
    let response = client.get(app.url("/login")).send().await.unwrap();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("duetrack_login="))
        .and_then(|v| v.split(';').next())
        .expect("the sign-in page sets its form cookie")
        .to_string();
    let html = response.text().await.unwrap();
    let token = html
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-in form carries its token")
        .to_string();
    (cookie, token)
}
