-- The ledger's schema on SQLite. Money columns are integers of the
-- currency's minor unit; dates are 'YYYY-MM-DD' text; timestamps are
-- RFC 3339 UTC text of fixed width, so both sort as text.

CREATE TABLE staff_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'staff')),
    email TEXT,
    disabled_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    address TEXT,
    category TEXT,
    notes TEXT,
    credit_limit INTEGER CHECK (credit_limit IS NULL OR credit_limit >= 0),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleted')),
    balance INTEGER NOT NULL DEFAULT 0,
    total_dues INTEGER NOT NULL DEFAULT 0,
    total_paid INTEGER NOT NULL DEFAULT 0,
    next_due_date TEXT,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    delete_reason TEXT
);
CREATE UNIQUE INDEX customers_email_unique ON customers (email) WHERE status = 'active' AND email IS NOT NULL;
CREATE INDEX customers_by_name ON customers (status, name_key, id);
CREATE INDEX customers_by_balance ON customers (status, balance DESC, id);
CREATE INDEX customers_by_created ON customers (status, id);
CREATE INDEX customers_by_category ON customers (status, category);
CREATE INDEX customers_by_next_due ON customers (status, next_due_date);

-- Prefix search without scanning customers: one row per searchable word.
CREATE TABLE customer_search_terms (
    term TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    PRIMARY KEY (term, customer_id)
) WITHOUT ROWID;
CREATE INDEX customer_search_terms_by_customer ON customer_search_terms (customer_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id INTEGER REFERENCES staff_users (id),
    customer_id INTEGER REFERENCES customers (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX sessions_by_staff ON sessions (staff_id);

CREATE TABLE dues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    paid INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0 AND paid <= amount),
    description TEXT,
    issue_date TEXT NOT NULL,
    due_date TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'partial', 'paid', 'void')),
    balance_after INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    voided_at TEXT,
    voided_by TEXT,
    void_reason TEXT
);
CREATE INDEX dues_by_customer ON dues (customer_id, status, id);
CREATE INDEX dues_open_by_due_date ON dues (due_date) WHERE status IN ('open', 'partial');

CREATE TABLE payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    unallocated INTEGER NOT NULL CHECK (unallocated >= 0 AND unallocated <= amount),
    method TEXT NOT NULL,
    reference TEXT,
    paid_on TEXT NOT NULL,
    is_advance INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('recorded', 'void')),
    balance_after INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    voided_at TEXT,
    voided_by TEXT,
    void_reason TEXT
);
CREATE INDEX payments_by_customer ON payments (customer_id, status, id);
CREATE INDEX payments_by_date ON payments (paid_on);

CREATE TABLE allocations (
    payment_id INTEGER NOT NULL REFERENCES payments (id),
    due_id INTEGER NOT NULL REFERENCES dues (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (payment_id, due_id)
);
CREATE INDEX allocations_by_due ON allocations (due_id);

CREATE TABLE idempotency_keys (
    actor TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE TABLE activity_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_state TEXT,
    after_state TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX activity_by_entity ON activity_log (entity_type, entity_id, seq);
CREATE INDEX activity_by_actor ON activity_log (actor, seq);
CREATE INDEX activity_by_time ON activity_log (at);

-- The head of the hash chain; updating it serialises appends.
CREATE TABLE activity_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO activity_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
