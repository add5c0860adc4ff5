-- Customer accounts, portal payments awaiting confirmation, richer sessions
-- and the sign-in log. SQLite cannot change a CHECK constraint in place, so
-- the payments table is rebuilt. Allocations, the only table that refers to
-- payments, are set aside first and put back after, so foreign keys stay on
-- throughout (the migration runs in one transaction).

CREATE TABLE allocations_aside AS SELECT payment_id, due_id, amount FROM allocations;
DROP TABLE allocations;

CREATE TABLE payments_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    unallocated INTEGER NOT NULL CHECK (unallocated >= 0 AND unallocated <= amount),
    method TEXT NOT NULL,
    reference TEXT,
    paid_on TEXT NOT NULL,
    is_advance INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('pending', 'recorded', 'rejected', 'void')),
    balance_after INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    voided_at TEXT,
    voided_by TEXT,
    void_reason TEXT,
    submitted_by TEXT,
    decided_at TEXT,
    decided_by TEXT,
    reject_reason TEXT
);
INSERT INTO payments_rebuilt (id, customer_id, amount, unallocated, method, reference, paid_on, is_advance, status,
    balance_after, recorded_by, created_at, voided_at, voided_by, void_reason)
SELECT id, customer_id, amount, unallocated, method, reference, paid_on, is_advance, status,
    balance_after, recorded_by, created_at, voided_at, voided_by, void_reason FROM payments;
DROP TABLE payments;
ALTER TABLE payments_rebuilt RENAME TO payments;
CREATE INDEX payments_by_customer ON payments (customer_id, status, id);
CREATE INDEX payments_by_date ON payments (paid_on);
CREATE INDEX payments_pending ON payments (status, id) WHERE status = 'pending';

CREATE TABLE allocations (
    payment_id INTEGER NOT NULL REFERENCES payments (id),
    due_id INTEGER NOT NULL REFERENCES dues (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (payment_id, due_id)
);
INSERT INTO allocations (payment_id, due_id, amount) SELECT payment_id, due_id, amount FROM allocations_aside;
DROP TABLE allocations_aside;
CREATE INDEX allocations_by_due ON allocations (due_id);

ALTER TABLE customers ADD COLUMN password_hash TEXT;
ALTER TABLE customers ADD COLUMN login_disabled_at TEXT;

ALTER TABLE sessions ADD COLUMN csrf_token TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at TEXT;
CREATE INDEX sessions_by_customer ON sessions (customer_id);

-- Every attempt to sign in, set a password or ask for a reset.
CREATE TABLE signin_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    username TEXT NOT NULL,
    principal TEXT,
    success INTEGER NOT NULL,
    reason TEXT NOT NULL,
    address TEXT NOT NULL,
    user_agent TEXT
);
CREATE INDEX signin_log_by_user ON signin_log (kind, username, at);
CREATE INDEX signin_log_by_address ON signin_log (kind, address, at);
CREATE INDEX signin_log_by_time ON signin_log (at);
