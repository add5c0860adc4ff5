//! Signing in: sessions for staff and customers, throttling with temporary
//! lockouts, the sign-in log, and passwords set through one-time links or
//! changed by their owner. Throttling counts failures in the sign-in log, so
//! it holds across every node on one database; an attempt is reserved there
//! (`in_progress`) in the same transaction that finds room for it, before its
//! password is checked, so concurrent guesses cannot overrun the limit.

use super::activity::{self, Change};
use super::db::{Backend, Row, Tx};
use super::letters::AccountChange;
use super::outbox::{self, NewEmail};
use super::tokens::Purpose;
use super::{Store, StoreError, StoreResult, now_text, timestamp_text};
use crate::args;
use crate::domain::access::{self, Role, SigninKind};
use crate::domain::customers::CustomerStatus;
use crate::domain::notifications::EmailKind;
use serde::Serialize;
use serde_json::json;

/// Failed sign-ins on one account before it is locked for a while.
pub const ACCOUNT_FAILURES: i64 = 5;
/// Failed attempts from one address before it is locked for a while.
pub const ADDRESS_FAILURES: i64 = 20;
/// The window failures are counted in, and how long a lockout lasts.
pub const LOCKOUT_MINUTES: i64 = 15;
/// How long an attempt whose password is being checked counts against the
/// limits if it never finishes.
pub const IN_PROGRESS_SECONDS: i64 = 120;
/// The sign-in log's reason for an attempt whose password is being checked.
pub const IN_PROGRESS: &str = "in_progress";
/// Reset links one customer may be sent per hour.
pub const RESETS_PER_HOUR: i64 = 5;

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Staff {
        id: i64,
        username: String,
        role: Role,
    },
    Customer {
        id: i64,
        username: String,
    },
}

impl Principal {
    /// How the activity log names this caller.
    pub fn label(&self) -> String {
        match self {
            Principal::Staff { username, .. } => username.clone(),
            Principal::Customer { username, .. } => format!("customer:{username}"),
        }
    }

    /// The role as the API reports it.
    pub fn role_name(&self) -> &'static str {
        match self {
            Principal::Staff { role, .. } => role.as_str(),
            Principal::Customer { .. } => "customer",
        }
    }

    fn key(&self) -> String {
        match self {
            Principal::Staff { id, .. } => format!("staff:{id}"),
            Principal::Customer { id, .. } => format!("customer:{id}"),
        }
    }
}

/// A live session behind a request.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub token_hash: String,
    /// Must come back in `X-CSRF-Token` on state-changing requests that
    /// authenticate by cookie.
    pub csrf_token: String,
}

/// How long a session read from the database is used without reading it
/// again. Revocation on this node forgets it at once; another node sharing
/// the database sees a revocation within this time.
pub const SESSION_CACHE: std::time::Duration = std::time::Duration::from_secs(2);
/// How stale `last_seen_at` may get before a request writes it again.
const LAST_SEEN_EVERY_SECONDS: i64 = 60;
/// At most this many sessions are remembered; past it the oldest half of
/// the time window is dropped.
const SESSION_CACHE_ENTRIES: usize = 50_000;

/// A session as read from the database, with what decides whether it is
/// still live.
#[derive(Clone)]
struct FoundSession {
    session: Session,
    last_seen: Option<chrono::DateTime<chrono::Utc>>,
    expires_at: chrono::DateTime<chrono::Utc>,
}

struct Remembered {
    found: FoundSession,
    read_at: std::time::Instant,
}

/// Sessions read in the last [`SESSION_CACHE`], by token hash. A
/// generation number, moved on by every forgetting, keeps a lookup that
/// raced a revocation from remembering what it read before it.
#[derive(Default)]
pub struct SessionCache {
    inner: std::sync::Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    generation: u64,
    entries: std::collections::HashMap<String, Remembered>,
}

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh entry for the hash, if any, and the generation to store a
    /// newly read one under.
    fn get(&self, hash: &str) -> (Option<FoundSession>, u64) {
        let inner = self.lock();
        let found = inner
            .entries
            .get(hash)
            .filter(|r| r.read_at.elapsed() < SESSION_CACHE)
            .map(|r| r.found.clone());
        (found, inner.generation)
    }

    fn put(&self, hash: &str, found: FoundSession, generation: u64) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= SESSION_CACHE_ENTRIES {
            inner
                .entries
                .retain(|_, r| r.read_at.elapsed() < SESSION_CACHE / 2);
        }
        inner.entries.insert(
            hash.to_string(),
            Remembered {
                found,
                read_at: std::time::Instant::now(),
            },
        );
    }

    fn touch(&self, hash: &str, at: chrono::DateTime<chrono::Utc>) {
        if let Some(r) = self.lock().entries.get_mut(hash) {
            r.found.last_seen = Some(at);
        }
    }

    fn forget_all(&self) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.entries.clear();
    }
}

/// Where a request came from, for throttling and the sign-in log.
#[derive(Debug, Clone)]
pub struct Client {
    pub address: String,
    pub user_agent: Option<String>,
}

/// A session just created; the token is shown to the caller once.
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub principal: Principal,
    pub expires_at: String,
}

pub enum LoginOutcome {
    SignedIn(NewSession),
    Refused,
    /// Too many failures; try again after this many seconds.
    Throttled(i64),
}

/// An attempt as the sign-in log keeps it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SigninAttempt {
    pub id: i64,
    pub at: String,
    /// login, set_password or reset_request
    #[schema(value_type = String)]
    pub kind: SigninKind,
    /// The name as typed (lower-cased).
    pub username: String,
    /// The account it matched, such as staff:1 or customer:7.
    pub principal: Option<String>,
    pub success: bool,
    /// ok, bad_password, unknown_user, no_password, disabled, throttled, bad_token, …
    pub reason: String,
    pub address: String,
    pub user_agent: Option<String>,
}

impl SigninAttempt {
    fn from_row(row: &Row) -> StoreResult<Self> {
        Ok(SigninAttempt {
            id: row.i64("id")?,
            at: row.text("at")?,
            kind: row.parsed("kind", SigninKind::parse)?,
            username: row.text("username")?,
            principal: row.opt_text("principal")?,
            success: row.i64("success")? != 0,
            reason: row.text("reason")?,
            address: row.text("address")?,
            user_agent: row.opt_text("user_agent")?,
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct SigninFilter {
    pub username: Option<String>,
    pub kind: Option<String>,
    pub success: Option<bool>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Records one attempt.
async fn log_attempt(
    tx: &mut Tx,
    kind: SigninKind,
    username: &str,
    principal: Option<&str>,
    success: bool,
    reason: &str,
    client: &Client,
) -> StoreResult<()> {
    let username: String = username.chars().take(100).collect();
    let user_agent = client
        .user_agent
        .as_ref()
        .map(|u| u.chars().take(300).collect::<String>());
    tx.execute(
        "INSERT INTO signin_log (at, kind, username, principal, success, reason, address, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![now_text(), kind.as_str(), username, principal, i64::from(success), reason, client.address.clone(), user_agent],
    )
    .await?;
    Ok(())
}

/// Marks an attempt as in progress before its password is checked, in the
/// same transaction that found it under the limits: it counts as a failure
/// until [`finish_attempt`] says how it ended, or until it is
/// [`IN_PROGRESS_SECONDS`] old (a node that died half-way). Returns its id.
async fn reserve_attempt(
    tx: &mut Tx,
    kind: SigninKind,
    username: &str,
    principal: Option<&str>,
    client: &Client,
) -> StoreResult<i64> {
    let username: String = username.chars().take(100).collect();
    let user_agent = client
        .user_agent
        .as_ref()
        .map(|u| u.chars().take(300).collect::<String>());
    let row = tx
        .fetch_one(
            "INSERT INTO signin_log (at, kind, username, principal, success, reason, address, user_agent) VALUES ($1, $2, $3, $4, 0, $5, $6, $7) RETURNING id",
            args![now_text(), kind.as_str(), username, principal, IN_PROGRESS, client.address.clone(), user_agent],
        )
        .await?;
    Ok(row.i64("id")?)
}

/// Records how a reserved attempt ended, at the time it ended.
async fn finish_attempt(tx: &mut Tx, id: i64, success: bool, reason: &str) -> StoreResult<()> {
    tx.execute(
        "UPDATE signin_log SET at = $1, success = $2, reason = $3 WHERE id = $4",
        args![now_text(), i64::from(success), reason, id],
    )
    .await?;
    Ok(())
}

/// Makes concurrent sign-in checks on one key (an address, an account) take
/// turns. SQLite needs nothing: a write transaction already holds the only
/// write lock. PostgreSQL takes a lock for the rest of the transaction, so
/// two nodes cannot both count, find room and reserve. Callers take the
/// address's lock before the account's, always in that order.
async fn serialise(tx: &mut Tx, key: &str) -> StoreResult<()> {
    if tx.backend() == Backend::Postgres {
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", args![key])
            .await?;
    }
    Ok(())
}

/// Seconds until a lockout ends, when `column = value` has too many recent
/// failures (attempts refused because of a lockout do not count; attempts
/// still in progress do, for [`IN_PROGRESS_SECONDS`]).
async fn lockout(
    tx: &mut Tx,
    kind: SigninKind,
    column: &str,
    value: &str,
    limit: i64,
) -> StoreResult<Option<i64>> {
    let now = chrono::Utc::now();
    let window_start = timestamp_text(now - chrono::Duration::minutes(LOCKOUT_MINUTES));
    let last_success = tx
        .fetch_one(
            &format!("SELECT MAX(at) AS at FROM signin_log WHERE kind = $1 AND {column} = $2 AND success = 1"),
            args![kind.as_str(), value],
        )
        .await?
        .opt_text("at")?
        .unwrap_or_default();
    let since = window_start.max(last_success);
    let in_progress_since = timestamp_text(now - chrono::Duration::seconds(IN_PROGRESS_SECONDS));
    let row = tx
        .fetch_one(
            &format!(
                "SELECT COUNT(*) AS n, MAX(at) AS latest FROM signin_log
                 WHERE kind = $1 AND {column} = $2 AND success = 0 AND reason <> 'throttled' AND at > $3
                   AND (reason <> $4 OR at > $5)"
            ),
            args![kind.as_str(), value, since, IN_PROGRESS, in_progress_since],
        )
        .await?;
    if row.i64("n")? < limit {
        return Ok(None);
    }
    let latest = row
        .opt_text("latest")?
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .map_or(now, |t| t.with_timezone(&chrono::Utc));
    let until = latest + chrono::Duration::minutes(LOCKOUT_MINUTES);
    Ok(Some((until - now).num_seconds().max(1)))
}

/// An account that may sign in, found by its user name or a customer's email.
struct Account {
    principal: Principal,
    password_hash: Option<String>,
    refusal: Option<&'static str>,
}

async fn find_account(tx: &mut Tx, name: &str) -> StoreResult<Option<Account>> {
    if let Some(row) = tx
        .fetch_optional("SELECT id, username, role, password_hash, disabled_at FROM staff_users WHERE lower(username) = $1", args![name])
        .await?
    {
        return Ok(Some(Account {
            principal: Principal::Staff {
                id: row.i64("id")?,
                username: row.text("username")?,
                role: Role::parse(&row.text("role")?).unwrap_or(Role::Staff),
            },
            password_hash: Some(row.text("password_hash")?),
            refusal: row.opt_text("disabled_at")?.map(|_| "disabled"),
        }));
    }
    let rows = tx
        .fetch_all(
            "SELECT id, username, password_hash, status, login_disabled_at FROM customers
             WHERE lower(username) = $1 OR (email = $1 AND status = 'active') ORDER BY (status = 'active') DESC, id",
            args![name],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let refusal = if row.parsed("status", CustomerStatus::parse)? != CustomerStatus::Active
        || row.opt_text("login_disabled_at")?.is_some()
    {
        Some("disabled")
    } else {
        None
    };
    Ok(Some(Account {
        principal: Principal::Customer {
            id: row.i64("id")?,
            username: row.text("username")?,
        },
        password_hash: row.opt_text("password_hash")?,
        refusal,
    }))
}

async fn verify_off_thread(password: &str, stored: String) -> bool {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || access::verify_any(&password, &stored))
        .await
        .unwrap_or(false)
}

async fn hash_off_thread(password: &str) -> String {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || access::hash_password(&password))
        .await
        .expect("hashing does not panic")
}

/// Ends every session of a principal except `keep`.
async fn revoke_all(tx: &mut Tx, principal: &Principal, keep: Option<&str>) -> StoreResult<()> {
    let (column, id) = match principal {
        Principal::Staff { id, .. } => ("staff_id", *id),
        Principal::Customer { id, .. } => ("customer_id", *id),
    };
    tx.execute(
        &format!("UPDATE sessions SET revoked_at = $1 WHERE {column} = $2 AND revoked_at IS NULL AND token_hash <> $3"),
        args![now_text(), id, keep.unwrap_or("")],
    )
    .await?;
    Ok(())
}

/// What became of a password set through a one-time link.
pub enum SetPasswordOutcome {
    Done {
        username: String,
    },
    /// The link is unknown, used or expired.
    BadToken,
    Weak(String),
    Throttled(i64),
}

impl Store {
    /// Signs in a staff member or customer (by user name or a customer's
    /// email). Throttled per account and per address; every attempt logged.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: &Client,
        hours: i64,
    ) -> StoreResult<LoginOutcome> {
        let name = username.trim().to_lowercase();
        // Check and reserve in one short write transaction, so that no
        // number of concurrent guesses, on any node, gets more passwords
        // checked than the limit allows.
        let mut tx = self.db.write().await?;
        serialise(&mut tx, &format!("signin:address:{}", client.address)).await?;
        let account = find_account(&mut tx, &name).await?;
        let key = account.as_ref().map(|a| a.principal.key());
        if let Some(key) = &key {
            serialise(&mut tx, &format!("signin:account:{key}")).await?;
        }
        let mut retry = lockout(
            &mut tx,
            SigninKind::Login,
            "address",
            &client.address,
            ADDRESS_FAILURES,
        )
        .await?;
        if retry.is_none()
            && let Some(key) = &key
        {
            retry = lockout(
                &mut tx,
                SigninKind::Login,
                "principal",
                key,
                ACCOUNT_FAILURES,
            )
            .await?;
        }
        if let Some(seconds) = retry {
            log_attempt(
                &mut tx,
                SigninKind::Login,
                &name,
                key.as_deref(),
                false,
                "throttled",
                client,
            )
            .await?;
            tx.commit().await?;
            return Ok(LoginOutcome::Throttled(seconds));
        }
        let attempt =
            reserve_attempt(&mut tx, SigninKind::Login, &name, key.as_deref(), client).await?;
        tx.commit().await?;
        let stored = account
            .as_ref()
            .and_then(|a| a.password_hash.clone())
            .unwrap_or_else(|| access::decoy_hash().to_string());
        let matches = verify_off_thread(password, stored.clone()).await;
        let refusal = match &account {
            None => Some("unknown_user"),
            Some(a) if a.password_hash.is_none() => Some("no_password"),
            Some(_) if !matches => Some("bad_password"),
            Some(a) => a.refusal,
        };
        let mut tx = self.db.write().await?;
        let (Some(account), None) = (account, refusal) else {
            finish_attempt(&mut tx, attempt, false, refusal.unwrap_or("refused")).await?;
            tx.commit().await?;
            return Ok(LoginOutcome::Refused);
        };
        if access::is_werkzeug_hash(&stored) {
            // The original system's hash: replace it with Argon2id now.
            let upgraded = hash_off_thread(password).await;
            if let Principal::Customer { id, .. } = &account.principal {
                tx.execute(
                    "UPDATE customers SET password_hash = $1 WHERE id = $2",
                    args![upgraded, *id],
                )
                .await?;
            }
        }
        let token = access::new_token();
        let csrf_token = access::new_token();
        let now = chrono::Utc::now();
        let expires_at = timestamp_text(now + chrono::Duration::hours(hours));
        let (staff_id, customer_id) = match &account.principal {
            Principal::Staff { id, .. } => (Some(*id), None),
            Principal::Customer { id, .. } => (None, Some(*id)),
        };
        tx.execute(
            "INSERT INTO sessions (token_hash, staff_id, customer_id, created_at, expires_at, csrf_token, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $6, $4)",
            args![access::token_hash(&token), staff_id, customer_id, timestamp_text(now), expires_at.clone(), csrf_token.clone()],
        )
        .await?;
        finish_attempt(&mut tx, attempt, true, "ok").await?;
        tx.commit().await?;
        Ok(LoginOutcome::SignedIn(NewSession {
            token,
            csrf_token,
            principal: account.principal,
            expires_at,
        }))
    }

    /// Finds the live session behind a token: not revoked, not past its
    /// absolute expiry, used within the idle limit, its account still able
    /// to sign in. A session found is remembered for [`SESSION_CACHE`], so
    /// a client's stream of requests costs one query per that time; every
    /// change here that ends sessions or changes who may use them forgets
    /// all remembered sessions at once ([`Store::forget_sessions`]).
    pub async fn session(&self, token: &str, idle_minutes: i64) -> StoreResult<Option<Session>> {
        let hash = access::token_hash(token);
        let now = chrono::Utc::now();
        let idle = chrono::Duration::minutes(idle_minutes);
        let (remembered, generation) = self.sessions.get(&hash);
        let mut found = match remembered {
            Some(found) => found,
            None => match self.load_session(&hash, now).await? {
                Some(found) => {
                    self.sessions.put(&hash, found.clone(), generation);
                    found
                }
                None => return Ok(None),
            },
        };
        if now >= found.expires_at || found.last_seen.is_some_and(|t| now - t > idle) {
            return Ok(None);
        }
        // Keep the idle clock running, without a write on every request.
        if found
            .last_seen
            .is_none_or(|t| now - t > chrono::Duration::seconds(LAST_SEEN_EVERY_SECONDS))
        {
            let mut tx = self.db.write().await?;
            tx.execute(
                "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2",
                args![timestamp_text(now), hash.clone()],
            )
            .await?;
            tx.commit().await?;
            found.last_seen = Some(now);
            self.sessions.touch(&hash, now);
        }
        Ok(Some(found.session))
    }

    /// Forgets every remembered session, so that the next request on any
    /// token reads the database again. Called after each commit that ends
    /// sessions, disables an account or changes a role.
    pub fn forget_sessions(&self) {
        self.sessions.forget_all();
    }

    async fn load_session(
        &self,
        hash: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Option<FoundSession>> {
        let mut tx = self.db.read().await?;
        let row = tx
            .fetch_optional(
                "SELECT s.staff_id, s.customer_id, s.csrf_token, s.last_seen_at, s.expires_at,
                        u.username AS staff_username, u.role, u.disabled_at,
                        c.username AS customer_username, c.status AS customer_status, c.login_disabled_at
                 FROM sessions s
                 LEFT JOIN staff_users u ON u.id = s.staff_id
                 LEFT JOIN customers c ON c.id = s.customer_id
                 WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
                args![hash, timestamp_text(now)],
            )
            .await?;
        drop(tx);
        let Some(row) = row else { return Ok(None) };
        let parse = |t: Option<String>| {
            t.and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        let last_seen = parse(row.opt_text("last_seen_at")?);
        let Some(expires_at) = parse(row.opt_text("expires_at")?) else {
            return Ok(None);
        };
        let principal = match (row.opt_i64("staff_id")?, row.opt_i64("customer_id")?) {
            (Some(id), _) => {
                if row.opt_text("disabled_at")?.is_some() {
                    return Ok(None);
                }
                let Some(role) = Role::parse(&row.opt_text("role")?.unwrap_or_default()) else {
                    return Ok(None);
                };
                Principal::Staff {
                    id,
                    username: row.opt_text("staff_username")?.unwrap_or_default(),
                    role,
                }
            }
            (None, Some(id)) => {
                if row
                    .opt_text("customer_status")?
                    .as_deref()
                    .and_then(CustomerStatus::parse)
                    != Some(CustomerStatus::Active)
                    || row.opt_text("login_disabled_at")?.is_some()
                {
                    return Ok(None);
                }
                Principal::Customer {
                    id,
                    username: row.opt_text("customer_username")?.unwrap_or_default(),
                }
            }
            (None, None) => return Ok(None),
        };
        Ok(Some(FoundSession {
            session: Session {
                principal,
                token_hash: hash.to_string(),
                csrf_token: row.opt_text("csrf_token")?.unwrap_or_default(),
            },
            last_seen,
            expires_at,
        }))
    }

    pub async fn revoke_session(&self, token_hash: &str) -> StoreResult<()> {
        let mut tx = self.db.write().await?;
        tx.execute(
            "UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
            args![now_text(), token_hash],
        )
        .await?;
        tx.commit().await?;
        self.forget_sessions();
        Ok(())
    }

    /// Completes an invitation or reset link: sets the customer's password,
    /// uses up the link and ends every session of the account.
    pub async fn set_password_with_token(
        &self,
        token: &str,
        password: &str,
        client: &Client,
    ) -> StoreResult<SetPasswordOutcome> {
        let hash = access::token_hash(token.trim());
        let mut tx = self.db.read().await?;
        if let Some(seconds) = lockout(
            &mut tx,
            SigninKind::SetPassword,
            "address",
            &client.address,
            ADDRESS_FAILURES / 2,
        )
        .await?
        {
            drop(tx);
            let mut tx = self.db.write().await?;
            log_attempt(
                &mut tx,
                SigninKind::SetPassword,
                "",
                None,
                false,
                "throttled",
                client,
            )
            .await?;
            tx.commit().await?;
            return Ok(SetPasswordOutcome::Throttled(seconds));
        }
        let found = tx
            .fetch_optional(
                "SELECT t.customer_id, t.purpose, c.username, c.name, c.email FROM credential_tokens t JOIN customers c ON c.id = t.customer_id
                 WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND c.status = 'active' AND c.login_disabled_at IS NULL",
                args![hash.clone(), now_text()],
            )
            .await?;
        drop(tx);
        let Some(found) = found else {
            let mut tx = self.db.write().await?;
            log_attempt(
                &mut tx,
                SigninKind::SetPassword,
                "",
                None,
                false,
                "bad_token",
                client,
            )
            .await?;
            tx.commit().await?;
            return Ok(SetPasswordOutcome::BadToken);
        };
        let username = found.text("username")?;
        if let Err(why) = access::check_new_password(password, &username) {
            return Ok(SetPasswordOutcome::Weak(why));
        }
        let customer_id = found.i64("customer_id")?;
        let principal = Principal::Customer {
            id: customer_id,
            username: username.clone(),
        };
        let new_hash = hash_off_thread(password).await;
        let mut tx = self.db.write().await?;
        // Used up in the same statement that checks it, so two concurrent uses cannot both succeed.
        let used = tx
            .execute(
                "UPDATE credential_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
                args![now_text(), hash],
            )
            .await?;
        if used == 0 {
            return Ok(SetPasswordOutcome::BadToken);
        }
        tx.execute(
            "UPDATE customers SET password_hash = $1, updated_at = $2 WHERE id = $3",
            args![new_hash, now_text(), customer_id],
        )
        .await?;
        revoke_all(&mut tx, &principal, None).await?;
        let purpose = found.parsed("purpose", Purpose::parse)?;
        if purpose == Purpose::Reset
            && let Some(email) = found.opt_text("email")?
        {
            outbox::enqueue(
                &mut tx,
                NewEmail {
                    kind: EmailKind::AccountChanged,
                    dedupe_key: format!("password_set:{customer_id}:{}", access::new_token()),
                    customer_id: Some(customer_id),
                    recipient: email,
                    message: self
                        .letters
                        .account_changed(&found.text("name")?, AccountChange::Password),
                },
            )
            .await?;
        }
        activity::record(
            &mut tx,
            &principal.label(),
            Change {
                action: "customer.password_set",
                entity_type: "customer",
                entity_id: customer_id.to_string(),
                before: None,
                after: Some(json!({"through": purpose.as_str()})),
            },
        )
        .await?;
        log_attempt(
            &mut tx,
            SigninKind::SetPassword,
            &username,
            Some(&principal.key()),
            true,
            "ok",
            client,
        )
        .await?;
        tx.commit().await?;
        self.forget_sessions();
        self.email_queued();
        Ok(SetPasswordOutcome::Done { username })
    }

    /// Changes the signed-in account's own password, given the current one;
    /// every other session of the account ends.
    pub async fn change_password(
        &self,
        session: &Session,
        current: &str,
        new: &str,
        client: &Client,
    ) -> StoreResult<()> {
        let mut tx = self.db.read().await?;
        let (stored, username) = match &session.principal {
            Principal::Staff { id, username, .. } => {
                let row = tx
                    .fetch_one(
                        "SELECT password_hash FROM staff_users WHERE id = $1",
                        args![*id],
                    )
                    .await?;
                (row.opt_text("password_hash")?, username.clone())
            }
            Principal::Customer { id, username } => {
                let row = tx
                    .fetch_one(
                        "SELECT password_hash FROM customers WHERE id = $1",
                        args![*id],
                    )
                    .await?;
                (row.opt_text("password_hash")?, username.clone())
            }
        };
        drop(tx);
        let key = session.principal.key();
        // The same check-and-reserve as signing in: concurrent guesses at the
        // current password get no more checks than the account's limit.
        let mut check = self.db.write().await?;
        serialise(&mut check, &format!("signin:address:{}", client.address)).await?;
        serialise(&mut check, &format!("signin:account:{key}")).await?;
        if let Some(seconds) = lockout(
            &mut check,
            SigninKind::Login,
            "principal",
            &key,
            ACCOUNT_FAILURES,
        )
        .await?
        {
            return Err(StoreError::Throttled(seconds));
        }
        let attempt =
            reserve_attempt(&mut check, SigninKind::Login, &username, Some(&key), client).await?;
        check.commit().await?;
        let matches = verify_off_thread(
            current,
            stored.unwrap_or_else(|| access::decoy_hash().to_string()),
        )
        .await;
        let mut tx = self.db.write().await?;
        if !matches {
            finish_attempt(&mut tx, attempt, false, "bad_password").await?;
            tx.commit().await?;
            return Err(StoreError::rejected(
                "wrong_password",
                Some("current_password"),
                "the current password is not right",
            ));
        }
        // The right current password is not a sign-in: it leaves no entry.
        tx.execute("DELETE FROM signin_log WHERE id = $1", args![attempt])
            .await?;
        tx.commit().await?;
        access::check_new_password(new, &username).map_err(|why| {
            StoreError::rejected(
                "weak_password",
                Some("new_password"),
                format!("the new password {why}"),
            )
        })?;
        let hash = hash_off_thread(new).await;
        let mut tx = self.db.write().await?;
        let email = match &session.principal {
            Principal::Staff { id, .. } => {
                tx.execute(
                    "UPDATE staff_users SET password_hash = $1, updated_at = $2 WHERE id = $3",
                    args![hash, now_text(), *id],
                )
                .await?;
                None
            }
            Principal::Customer { id, .. } => {
                tx.execute(
                    "UPDATE customers SET password_hash = $1, updated_at = $2 WHERE id = $3",
                    args![hash, now_text(), *id],
                )
                .await?;
                let row = tx
                    .fetch_one(
                        "SELECT name, email FROM customers WHERE id = $1",
                        args![*id],
                    )
                    .await?;
                row.opt_text("email")?
                    .map(|e| (e, row.text("name").unwrap_or_default(), *id))
            }
        };
        revoke_all(&mut tx, &session.principal, Some(&session.token_hash)).await?;
        if let Some((to, name, id)) = &email {
            outbox::enqueue(
                &mut tx,
                NewEmail {
                    kind: EmailKind::AccountChanged,
                    dedupe_key: format!("password_changed:{id}:{}", access::new_token()),
                    customer_id: Some(*id),
                    recipient: to.clone(),
                    message: self.letters.account_changed(name, AccountChange::Password),
                },
            )
            .await?;
        }
        let (entity_type, entity_id) = key.split_once(':').unwrap_or(("account", ""));
        activity::record(
            &mut tx,
            &session.principal.label(),
            Change {
                action: "password.changed",
                entity_type,
                entity_id: entity_id.to_string(),
                before: None,
                after: Some(json!({"other_sessions_ended": true})),
            },
        )
        .await?;
        tx.commit().await?;
        self.forget_sessions();
        if email.is_some() {
            self.email_queued();
        }
        Ok(())
    }

    /// Whether another reset link may be sent to this customer now; records the request.
    pub async fn allow_reset_request(
        &self,
        customer_username: &str,
        client: &Client,
    ) -> StoreResult<Result<(), i64>> {
        let since = timestamp_text(chrono::Utc::now() - chrono::Duration::hours(1));
        let mut tx = self.db.write().await?;
        let recent = tx
            .scalar(
                "SELECT COUNT(*) FROM signin_log WHERE kind = 'reset_request' AND username = $1 AND success = 1 AND at > $2",
                args![customer_username, since],
            )
            .await?;
        if recent >= RESETS_PER_HOUR {
            log_attempt(
                &mut tx,
                SigninKind::ResetRequest,
                customer_username,
                None,
                false,
                "throttled",
                client,
            )
            .await?;
            tx.commit().await?;
            return Ok(Err(LOCKOUT_MINUTES * 60));
        }
        log_attempt(
            &mut tx,
            SigninKind::ResetRequest,
            customer_username,
            None,
            true,
            "ok",
            client,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// The sign-in log, newest first.
    pub async fn list_signins(
        &self,
        filter: &SigninFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<SigninAttempt>, i64)> {
        let mut where_ = super::db::Filter::default();
        where_.add(
            "username =",
            filter.username.as_ref().map(|u| u.to_lowercase()),
        );
        where_.add("kind =", filter.kind.clone());
        where_.add("success =", filter.success.map(i64::from));
        where_.add("at >=", filter.from.clone());
        where_.add("at <", filter.to.clone());
        let mut tx = self.db.read().await?;
        let (rows, total) = where_
            .page(&mut tx, "signin_log", "id DESC", limit, offset)
            .await?;
        let items = rows
            .iter()
            .map(SigninAttempt::from_row)
            .collect::<StoreResult<_>>()?;
        Ok((items, total))
    }

    /// Removes expired sessions and idempotency keys older than two days.
    pub async fn purge_expired(&self) -> StoreResult<()> {
        let now = chrono::Utc::now();
        let mut tx = self.db.write().await?;
        tx.execute(
            "DELETE FROM sessions WHERE expires_at < $1",
            args![timestamp_text(now - chrono::Duration::days(1))],
        )
        .await?;
        tx.execute(
            "DELETE FROM idempotency_keys WHERE created_at < $1",
            args![timestamp_text(now - chrono::Duration::hours(48))],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
