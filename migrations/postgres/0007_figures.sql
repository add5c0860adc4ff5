-- Maintained figures for the dashboard and the customer counts, so that no
-- request scans customers or the ledger. Every row is keyed by a shard:
-- the writing connection's (pg_backend_pid() % 16), so that concurrent
-- transactions, on one node or many, change different rows and never wait
-- for one another; readers sum the shards, and what one connection added
-- another may take away. Triggers keep them exact on every write path;
-- src/store/figures.rs reads the sections below (marked `-- section:`) to
-- rebuild the figures from the ledger and to drop and recreate the
-- triggers around a bulk load. Days are 'YYYY-MM-DD' text, '' for none.
-- Sums are NUMERIC, so that no sum can fail a write by overflowing.

ALTER TABLE customers ADD COLUMN partial_dues BIGINT NOT NULL DEFAULT 0;

CREATE TABLE customer_totals (
    shard INTEGER PRIMARY KEY,
    active BIGINT NOT NULL DEFAULT 0,
    deleted BIGINT NOT NULL DEFAULT 0,
    owing BIGINT NOT NULL DEFAULT 0,
    outstanding NUMERIC NOT NULL DEFAULT 0,
    credit NUMERIC NOT NULL DEFAULT 0,
    open_dues NUMERIC NOT NULL DEFAULT 0
);

CREATE TABLE owing_customers (
    next_due TEXT NOT NULL,
    partial INTEGER NOT NULL,
    shard INTEGER NOT NULL,
    customers BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (next_due, partial, shard)
);

CREATE TABLE open_dues_by_day (
    due_date TEXT NOT NULL,
    shard INTEGER NOT NULL,
    outstanding NUMERIC NOT NULL DEFAULT 0,
    PRIMARY KEY (due_date, shard)
);

CREATE TABLE payments_by_day (
    paid_on TEXT NOT NULL,
    shard INTEGER NOT NULL,
    collected NUMERIC NOT NULL DEFAULT 0,
    PRIMARY KEY (paid_on, shard)
);

CREATE TABLE dues_by_day (
    issue_date TEXT NOT NULL,
    shard INTEGER NOT NULL,
    issued NUMERIC NOT NULL DEFAULT 0,
    PRIMARY KEY (issue_date, shard)
);

-- The functions the triggers call.
CREATE FUNCTION figures_add_owing(p_next_due TEXT, p_partial_dues BIGINT, p_customer BIGINT, p_n BIGINT) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO owing_customers (next_due, partial, shard, customers)
    VALUES (COALESCE(p_next_due, ''), CASE WHEN p_partial_dues > 0 THEN 1 ELSE 0 END, pg_backend_pid() % 16, p_n)
    ON CONFLICT (next_due, partial, shard) DO UPDATE SET customers = owing_customers.customers + excluded.customers;
$$;

CREATE FUNCTION figures_add_open(p_due_date TEXT, p_customer BIGINT, p_amount NUMERIC) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO open_dues_by_day (due_date, shard, outstanding)
    VALUES (COALESCE(p_due_date, ''), pg_backend_pid() % 16, p_amount)
    ON CONFLICT (due_date, shard) DO UPDATE SET outstanding = open_dues_by_day.outstanding + excluded.outstanding;
    INSERT INTO customer_totals (shard, open_dues) VALUES (pg_backend_pid() % 16, p_amount)
    ON CONFLICT (shard) DO UPDATE SET open_dues = customer_totals.open_dues + excluded.open_dues;
$$;

CREATE FUNCTION figures_customers() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d_active BIGINT := 0;
    d_deleted BIGINT := 0;
    d_owing BIGINT := 0;
    d_outstanding NUMERIC := 0;
    d_credit NUMERIC := 0;
    old_owes BOOLEAN := false;
    new_owes BOOLEAN := false;
    shard_of INTEGER;
    moved RECORD;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        shard_of := pg_backend_pid() % 16;
        IF OLD.status = 'active' THEN
            d_active := d_active - 1;
            IF OLD.balance > 0 THEN
                old_owes := true;
                d_owing := d_owing - 1;
                d_outstanding := d_outstanding - OLD.balance;
            ELSIF OLD.balance < 0 THEN
                d_credit := d_credit + OLD.balance;
            END IF;
        ELSIF OLD.status = 'deleted' THEN
            d_deleted := d_deleted - 1;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        shard_of := pg_backend_pid() % 16;
        IF NEW.status = 'active' THEN
            d_active := d_active + 1;
            IF NEW.balance > 0 THEN
                new_owes := true;
                d_owing := d_owing + 1;
                d_outstanding := d_outstanding + NEW.balance;
            ELSIF NEW.balance < 0 THEN
                d_credit := d_credit - NEW.balance;
            END IF;
        ELSIF NEW.status = 'deleted' THEN
            d_deleted := d_deleted + 1;
        END IF;
    END IF;
    IF d_active <> 0 OR d_deleted <> 0 OR d_owing <> 0 OR d_outstanding <> 0 OR d_credit <> 0 THEN
        INSERT INTO customer_totals (shard, active, deleted, owing, outstanding, credit)
        VALUES (shard_of, d_active, d_deleted, d_owing, d_outstanding, d_credit)
        ON CONFLICT (shard) DO UPDATE SET
            active = customer_totals.active + excluded.active,
            deleted = customer_totals.deleted + excluded.deleted,
            owing = customer_totals.owing + excluded.owing,
            outstanding = customer_totals.outstanding + excluded.outstanding,
            credit = customer_totals.credit + excluded.credit;
    END IF;
    IF TG_OP = 'UPDATE' AND old_owes AND new_owes
       AND COALESCE(OLD.next_due_date, '') = COALESCE(NEW.next_due_date, '')
       AND (OLD.partial_dues > 0) = (NEW.partial_dues > 0) THEN
        -- Still in the same count.
        NULL;
    ELSE
        IF old_owes THEN
            PERFORM figures_add_owing(OLD.next_due_date, OLD.partial_dues, OLD.id, -1);
        END IF;
        IF new_owes THEN
            PERFORM figures_add_owing(NEW.next_due_date, NEW.partial_dues, NEW.id, 1);
        END IF;
    END IF;
    -- Open dues follow the customer out of (and back into) the figures.
    IF TG_OP = 'UPDATE' AND (OLD.status = 'active') <> (NEW.status = 'active') THEN
        FOR moved IN
            SELECT d.due_date, SUM(d.amount - d.paid) AS outstanding FROM dues d
            WHERE d.customer_id = NEW.id AND d.status IN ('open', 'partial')
            GROUP BY d.due_date
        LOOP
            PERFORM figures_add_open(moved.due_date, NEW.id,
                CASE WHEN NEW.status = 'active' THEN moved.outstanding ELSE -moved.outstanding END);
        END LOOP;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION figures_dues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.status <> 'void' AND NOT (TG_OP = 'UPDATE' AND NEW.status <> 'void'
            AND NEW.issue_date = OLD.issue_date AND NEW.customer_id = OLD.customer_id AND NEW.amount = OLD.amount) THEN
            INSERT INTO dues_by_day (issue_date, shard, issued) VALUES (OLD.issue_date, pg_backend_pid() % 16, -OLD.amount)
            ON CONFLICT (issue_date, shard) DO UPDATE SET issued = dues_by_day.issued + excluded.issued;
        END IF;
        IF OLD.status IN ('open', 'partial')
           AND (SELECT status FROM customers WHERE id = OLD.customer_id) = 'active' THEN
            PERFORM figures_add_open(OLD.due_date, OLD.customer_id, OLD.paid - OLD.amount);
        END IF;
        IF OLD.status = 'partial' AND NOT (TG_OP = 'UPDATE' AND NEW.status = 'partial' AND NEW.customer_id = OLD.customer_id) THEN
            UPDATE customers SET partial_dues = partial_dues - 1 WHERE id = OLD.customer_id;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.status <> 'void' AND NOT (TG_OP = 'UPDATE' AND OLD.status <> 'void'
            AND NEW.issue_date = OLD.issue_date AND NEW.customer_id = OLD.customer_id AND NEW.amount = OLD.amount) THEN
            INSERT INTO dues_by_day (issue_date, shard, issued) VALUES (NEW.issue_date, pg_backend_pid() % 16, NEW.amount)
            ON CONFLICT (issue_date, shard) DO UPDATE SET issued = dues_by_day.issued + excluded.issued;
        END IF;
        IF NEW.status IN ('open', 'partial')
           AND (SELECT status FROM customers WHERE id = NEW.customer_id) = 'active' THEN
            PERFORM figures_add_open(NEW.due_date, NEW.customer_id, NEW.amount - NEW.paid);
        END IF;
        IF NEW.status = 'partial' AND NOT (TG_OP = 'UPDATE' AND OLD.status = 'partial' AND NEW.customer_id = OLD.customer_id) THEN
            UPDATE customers SET partial_dues = partial_dues + 1 WHERE id = NEW.customer_id;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION figures_payments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status = 'recorded' THEN
        INSERT INTO payments_by_day (paid_on, shard, collected) VALUES (OLD.paid_on, pg_backend_pid() % 16, -OLD.amount)
        ON CONFLICT (paid_on, shard) DO UPDATE SET collected = payments_by_day.collected + excluded.collected;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'recorded' THEN
        INSERT INTO payments_by_day (paid_on, shard, collected) VALUES (NEW.paid_on, pg_backend_pid() % 16, NEW.amount)
        ON CONFLICT (paid_on, shard) DO UPDATE SET collected = payments_by_day.collected + excluded.collected;
    END IF;
    RETURN NULL;
END;
$$;

-- section: rebuild
UPDATE customers SET partial_dues = p.n
FROM (SELECT c.id, (SELECT COUNT(*) FROM dues d WHERE d.customer_id = c.id AND d.status = 'partial') AS n
      FROM customers c) p
WHERE p.id = customers.id AND customers.partial_dues <> p.n;
DELETE FROM customer_totals;
DELETE FROM owing_customers;
DELETE FROM open_dues_by_day;
DELETE FROM payments_by_day;
DELETE FROM dues_by_day;
INSERT INTO customer_totals (shard, active, deleted, owing, outstanding, credit, open_dues)
SELECT id % 16,
       SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'deleted' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'active' AND balance > 0 THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'active' AND balance > 0 THEN balance ELSE 0 END),
       SUM(CASE WHEN status = 'active' AND balance < 0 THEN -balance ELSE 0 END),
       0
FROM customers GROUP BY id % 16;
INSERT INTO owing_customers (next_due, partial, shard, customers)
SELECT COALESCE(next_due_date, ''), CASE WHEN partial_dues > 0 THEN 1 ELSE 0 END, id % 16, COUNT(*)
FROM customers WHERE status = 'active' AND balance > 0
GROUP BY COALESCE(next_due_date, ''), CASE WHEN partial_dues > 0 THEN 1 ELSE 0 END, id % 16;
INSERT INTO open_dues_by_day (due_date, shard, outstanding)
SELECT COALESCE(d.due_date, ''), d.customer_id % 16, SUM(d.amount - d.paid)
FROM dues d JOIN customers c ON c.id = d.customer_id
WHERE c.status = 'active' AND d.status IN ('open', 'partial')
GROUP BY COALESCE(d.due_date, ''), d.customer_id % 16;
UPDATE customer_totals SET open_dues = COALESCE(
    (SELECT SUM(o.outstanding) FROM open_dues_by_day o WHERE o.shard = customer_totals.shard), 0);
INSERT INTO payments_by_day (paid_on, shard, collected)
SELECT paid_on, customer_id % 16, SUM(amount) FROM payments WHERE status = 'recorded'
GROUP BY paid_on, customer_id % 16;
INSERT INTO dues_by_day (issue_date, shard, issued)
SELECT issue_date, customer_id % 16, SUM(amount) FROM dues WHERE status <> 'void'
GROUP BY issue_date, customer_id % 16;

-- section: triggers
CREATE TRIGGER figures_customer AFTER INSERT OR DELETE OR UPDATE OF status, balance, next_due_date, partial_dues
ON customers FOR EACH ROW EXECUTE FUNCTION figures_customers();
CREATE TRIGGER figures_due AFTER INSERT OR DELETE OR UPDATE OF customer_id, amount, paid, issue_date, due_date, status
ON dues FOR EACH ROW EXECUTE FUNCTION figures_dues();
CREATE TRIGGER figures_payment AFTER INSERT OR DELETE OR UPDATE OF customer_id, amount, paid_on, status
ON payments FOR EACH ROW EXECUTE FUNCTION figures_payments();
