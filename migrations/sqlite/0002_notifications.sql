-- Email outbox, one-time credential links, reminders and the scheduler.

CREATE TABLE emails (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- One event never yields two messages: its key is unique.
    dedupe_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers (id),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_until TEXT,
    last_error TEXT,
    eml_path TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX emails_ready ON emails (status, next_attempt_at);
CREATE INDEX emails_by_customer ON emails (customer_id, id);
CREATE INDEX emails_by_kind ON emails (kind, id);
CREATE INDEX emails_unwritten ON emails (id) WHERE eml_path IS NULL AND status = 'queued';

CREATE TABLE credential_tokens (
    token_hash TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('invitation', 'reset')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX credential_tokens_by_customer ON credential_tokens (customer_id);

-- At most one reminder per customer and day, with why it was sent.
CREATE TABLE reminder_log (
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    day TEXT NOT NULL,
    reason TEXT NOT NULL,
    email_id INTEGER REFERENCES emails (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (customer_id, day)
);
CREATE INDEX reminder_log_by_day ON reminder_log (day);

-- Each day's scheduled run, once done.
CREATE TABLE scheduler_runs (
    job TEXT NOT NULL,
    day TEXT NOT NULL,
    holder TEXT NOT NULL,
    reminders INTEGER NOT NULL,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (job, day)
);

-- Time-limited locks held in the database, so that one node of many runs a job.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

ALTER TABLE customers ADD COLUMN reminders_paused INTEGER NOT NULL DEFAULT 0;
