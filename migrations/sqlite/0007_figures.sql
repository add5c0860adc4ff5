-- Maintained figures for the dashboard and the customer counts, so that no
-- request scans customers or the ledger. Every row is keyed by a shard,
-- customer_id % 16, so that no single row is written by every payment:
-- readers sum the shards. Triggers keep them exact on every write path;
-- src/store/figures.rs reads the sections below (marked `-- section:`) to
-- rebuild the figures from the ledger and to drop and recreate the
-- triggers around a bulk load. Days are 'YYYY-MM-DD' text, '' for none.

-- How many open or part-paid dues each customer has part-paid, so that the
-- customer's dashboard state needs no look at their dues.
ALTER TABLE customers ADD COLUMN partial_dues INTEGER NOT NULL DEFAULT 0;

-- Per shard: customers by status; what active customers owe (positive
-- balances), hold in credit (negative balances, as a positive sum), how
-- many owe, and what their open dues come to.
CREATE TABLE customer_totals (
    shard INTEGER PRIMARY KEY,
    active INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    owing INTEGER NOT NULL DEFAULT 0,
    outstanding INTEGER NOT NULL DEFAULT 0,
    credit INTEGER NOT NULL DEFAULT 0,
    open_dues INTEGER NOT NULL DEFAULT 0
);

-- Active customers who owe, by their earliest open due date and whether
-- they have part-paid a due: with today's date, how many are overdue, part
-- paid or unpaid.
CREATE TABLE owing_customers (
    next_due TEXT NOT NULL,
    partial INTEGER NOT NULL,
    shard INTEGER NOT NULL,
    customers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (next_due, partial, shard)
) WITHOUT ROWID;

-- What is still open on dues of active customers, by due date: ageing.
CREATE TABLE open_dues_by_day (
    due_date TEXT NOT NULL,
    shard INTEGER NOT NULL,
    outstanding INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (due_date, shard)
) WITHOUT ROWID;

-- Recorded payments by the day they were paid on: collections.
CREATE TABLE payments_by_day (
    paid_on TEXT NOT NULL,
    shard INTEGER NOT NULL,
    collected INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (paid_on, shard)
) WITHOUT ROWID;

-- Dues not voided, by their issue date: credit sales, for days sales outstanding.
CREATE TABLE dues_by_day (
    issue_date TEXT NOT NULL,
    shard INTEGER NOT NULL,
    issued INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (issue_date, shard)
) WITHOUT ROWID;

-- section: rebuild
UPDATE customers SET partial_dues = (
    SELECT COUNT(*) FROM dues d WHERE d.customer_id = customers.id AND d.status = 'partial')
WHERE partial_dues <> (
    SELECT COUNT(*) FROM dues d WHERE d.customer_id = customers.id AND d.status = 'partial');
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
CREATE TRIGGER figures_customer_insert AFTER INSERT ON customers
BEGIN
    INSERT INTO customer_totals (shard, active, deleted, owing, outstanding, credit)
    VALUES (NEW.id % 16,
        CASE WHEN NEW.status = 'active' THEN 1 ELSE 0 END,
        CASE WHEN NEW.status = 'deleted' THEN 1 ELSE 0 END,
        CASE WHEN NEW.status = 'active' AND NEW.balance > 0 THEN 1 ELSE 0 END,
        CASE WHEN NEW.status = 'active' AND NEW.balance > 0 THEN NEW.balance ELSE 0 END,
        CASE WHEN NEW.status = 'active' AND NEW.balance < 0 THEN -NEW.balance ELSE 0 END)
    ON CONFLICT (shard) DO UPDATE SET
        active = customer_totals.active + excluded.active,
        deleted = customer_totals.deleted + excluded.deleted,
        owing = customer_totals.owing + excluded.owing,
        outstanding = customer_totals.outstanding + excluded.outstanding,
        credit = customer_totals.credit + excluded.credit;
    INSERT INTO owing_customers (next_due, partial, shard, customers)
    SELECT COALESCE(NEW.next_due_date, ''), CASE WHEN NEW.partial_dues > 0 THEN 1 ELSE 0 END, NEW.id % 16, 1
    WHERE NEW.status = 'active' AND NEW.balance > 0
    ON CONFLICT (next_due, partial, shard) DO UPDATE SET customers = owing_customers.customers + excluded.customers;
END;

CREATE TRIGGER figures_customer_update AFTER UPDATE OF status, balance, next_due_date, partial_dues ON customers
WHEN OLD.status IS NOT NEW.status OR OLD.balance IS NOT NEW.balance
  OR OLD.next_due_date IS NOT NEW.next_due_date OR OLD.partial_dues IS NOT NEW.partial_dues
BEGIN
    -- Open dues follow the customer out of (and back into) the figures.
    INSERT INTO open_dues_by_day (due_date, shard, outstanding)
    SELECT COALESCE(due_date, ''), NEW.id % 16,
           CASE WHEN NEW.status = 'active' THEN 1 ELSE -1 END * SUM(amount - paid)
    FROM dues WHERE customer_id = NEW.id AND status IN ('open', 'partial')
      AND (OLD.status = 'active') <> (NEW.status = 'active')
    GROUP BY COALESCE(due_date, '')
    ON CONFLICT (due_date, shard) DO UPDATE SET outstanding = open_dues_by_day.outstanding + excluded.outstanding;
    INSERT INTO customer_totals (shard, active, deleted, owing, outstanding, credit, open_dues)
    VALUES (NEW.id % 16,
        CASE WHEN NEW.status = 'active' THEN 1 ELSE 0 END - CASE WHEN OLD.status = 'active' THEN 1 ELSE 0 END,
        CASE WHEN NEW.status = 'deleted' THEN 1 ELSE 0 END - CASE WHEN OLD.status = 'deleted' THEN 1 ELSE 0 END,
        CASE WHEN NEW.status = 'active' AND NEW.balance > 0 THEN 1 ELSE 0 END
          - CASE WHEN OLD.status = 'active' AND OLD.balance > 0 THEN 1 ELSE 0 END,
        CASE WHEN NEW.status = 'active' AND NEW.balance > 0 THEN NEW.balance ELSE 0 END
          - CASE WHEN OLD.status = 'active' AND OLD.balance > 0 THEN OLD.balance ELSE 0 END,
        CASE WHEN NEW.status = 'active' AND NEW.balance < 0 THEN -NEW.balance ELSE 0 END
          - CASE WHEN OLD.status = 'active' AND OLD.balance < 0 THEN -OLD.balance ELSE 0 END,
        CASE WHEN (OLD.status = 'active') = (NEW.status = 'active') THEN 0
          ELSE CASE WHEN NEW.status = 'active' THEN 1 ELSE -1 END * COALESCE(
            (SELECT SUM(amount - paid) FROM dues WHERE customer_id = NEW.id AND status IN ('open', 'partial')), 0)
        END)
    ON CONFLICT (shard) DO UPDATE SET
        active = customer_totals.active + excluded.active,
        deleted = customer_totals.deleted + excluded.deleted,
        owing = customer_totals.owing + excluded.owing,
        outstanding = customer_totals.outstanding + excluded.outstanding,
        credit = customer_totals.credit + excluded.credit,
        open_dues = customer_totals.open_dues + excluded.open_dues;
    -- Leave the owing counts alone when the customer stays in the same one.
    INSERT INTO owing_customers (next_due, partial, shard, customers)
    SELECT COALESCE(OLD.next_due_date, ''), CASE WHEN OLD.partial_dues > 0 THEN 1 ELSE 0 END, OLD.id % 16, -1
    WHERE OLD.status = 'active' AND OLD.balance > 0
      AND NOT (NEW.status = 'active' AND NEW.balance > 0 AND NEW.id = OLD.id
               AND COALESCE(NEW.next_due_date, '') = COALESCE(OLD.next_due_date, '')
               AND (NEW.partial_dues > 0) = (OLD.partial_dues > 0))
    ON CONFLICT (next_due, partial, shard) DO UPDATE SET customers = owing_customers.customers + excluded.customers;
    INSERT INTO owing_customers (next_due, partial, shard, customers)
    SELECT COALESCE(NEW.next_due_date, ''), CASE WHEN NEW.partial_dues > 0 THEN 1 ELSE 0 END, NEW.id % 16, 1
    WHERE NEW.status = 'active' AND NEW.balance > 0
      AND NOT (OLD.status = 'active' AND OLD.balance > 0 AND NEW.id = OLD.id
               AND COALESCE(NEW.next_due_date, '') = COALESCE(OLD.next_due_date, '')
               AND (NEW.partial_dues > 0) = (OLD.partial_dues > 0))
    ON CONFLICT (next_due, partial, shard) DO UPDATE SET customers = owing_customers.customers + excluded.customers;
END;

CREATE TRIGGER figures_customer_delete AFTER DELETE ON customers
BEGIN
    INSERT INTO customer_totals (shard, active, deleted, owing, outstanding, credit)
    VALUES (OLD.id % 16,
        -CASE WHEN OLD.status = 'active' THEN 1 ELSE 0 END,
        -CASE WHEN OLD.status = 'deleted' THEN 1 ELSE 0 END,
        -CASE WHEN OLD.status = 'active' AND OLD.balance > 0 THEN 1 ELSE 0 END,
        -CASE WHEN OLD.status = 'active' AND OLD.balance > 0 THEN OLD.balance ELSE 0 END,
        -CASE WHEN OLD.status = 'active' AND OLD.balance < 0 THEN -OLD.balance ELSE 0 END)
    ON CONFLICT (shard) DO UPDATE SET
        active = customer_totals.active + excluded.active,
        deleted = customer_totals.deleted + excluded.deleted,
        owing = customer_totals.owing + excluded.owing,
        outstanding = customer_totals.outstanding + excluded.outstanding,
        credit = customer_totals.credit + excluded.credit;
    INSERT INTO owing_customers (next_due, partial, shard, customers)
    SELECT COALESCE(OLD.next_due_date, ''), CASE WHEN OLD.partial_dues > 0 THEN 1 ELSE 0 END, OLD.id % 16, -1
    WHERE OLD.status = 'active' AND OLD.balance > 0
    ON CONFLICT (next_due, partial, shard) DO UPDATE SET customers = owing_customers.customers + excluded.customers;
END;

-- A due counts as a credit sale unless voided, and as open (for its
-- customer, when active) while open or part paid.
CREATE TRIGGER figures_due_insert AFTER INSERT ON dues
BEGIN
    INSERT INTO dues_by_day (issue_date, shard, issued)
    SELECT NEW.issue_date, NEW.customer_id % 16, NEW.amount WHERE NEW.status <> 'void'
    ON CONFLICT (issue_date, shard) DO UPDATE SET issued = dues_by_day.issued + excluded.issued;
    INSERT INTO open_dues_by_day (due_date, shard, outstanding)
    SELECT COALESCE(NEW.due_date, ''), NEW.customer_id % 16, NEW.amount - NEW.paid
    WHERE NEW.status IN ('open', 'partial')
      AND (SELECT status FROM customers WHERE id = NEW.customer_id) = 'active'
    ON CONFLICT (due_date, shard) DO UPDATE SET outstanding = open_dues_by_day.outstanding + excluded.outstanding;
    UPDATE customer_totals SET open_dues = open_dues + NEW.amount - NEW.paid
    WHERE shard = NEW.customer_id % 16 AND NEW.status IN ('open', 'partial')
      AND (SELECT status FROM customers WHERE id = NEW.customer_id) = 'active';
    UPDATE customers SET partial_dues = partial_dues + 1
    WHERE id = NEW.customer_id AND NEW.status = 'partial';
END;

CREATE TRIGGER figures_due_update AFTER UPDATE OF customer_id, amount, paid, issue_date, due_date, status ON dues
WHEN OLD.customer_id IS NOT NEW.customer_id OR OLD.amount IS NOT NEW.amount OR OLD.paid IS NOT NEW.paid
  OR OLD.issue_date IS NOT NEW.issue_date OR OLD.due_date IS NOT NEW.due_date OR OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO dues_by_day (issue_date, shard, issued)
    SELECT OLD.issue_date, OLD.customer_id % 16, -OLD.amount
    WHERE OLD.status <> 'void'
      AND NOT (NEW.status <> 'void' AND NEW.issue_date = OLD.issue_date
               AND NEW.customer_id = OLD.customer_id AND NEW.amount = OLD.amount)
    ON CONFLICT (issue_date, shard) DO UPDATE SET issued = dues_by_day.issued + excluded.issued;
    INSERT INTO dues_by_day (issue_date, shard, issued)
    SELECT NEW.issue_date, NEW.customer_id % 16, NEW.amount
    WHERE NEW.status <> 'void'
      AND NOT (OLD.status <> 'void' AND NEW.issue_date = OLD.issue_date
               AND NEW.customer_id = OLD.customer_id AND NEW.amount = OLD.amount)
    ON CONFLICT (issue_date, shard) DO UPDATE SET issued = dues_by_day.issued + excluded.issued;
    INSERT INTO open_dues_by_day (due_date, shard, outstanding)
    SELECT COALESCE(OLD.due_date, ''), OLD.customer_id % 16, OLD.paid - OLD.amount
    WHERE OLD.status IN ('open', 'partial')
      AND (SELECT status FROM customers WHERE id = OLD.customer_id) = 'active'
    ON CONFLICT (due_date, shard) DO UPDATE SET outstanding = open_dues_by_day.outstanding + excluded.outstanding;
    UPDATE customer_totals SET open_dues = open_dues - OLD.amount + OLD.paid
    WHERE shard = OLD.customer_id % 16 AND OLD.status IN ('open', 'partial')
      AND (SELECT status FROM customers WHERE id = OLD.customer_id) = 'active';
    INSERT INTO open_dues_by_day (due_date, shard, outstanding)
    SELECT COALESCE(NEW.due_date, ''), NEW.customer_id % 16, NEW.amount - NEW.paid
    WHERE NEW.status IN ('open', 'partial')
      AND (SELECT status FROM customers WHERE id = NEW.customer_id) = 'active'
    ON CONFLICT (due_date, shard) DO UPDATE SET outstanding = open_dues_by_day.outstanding + excluded.outstanding;
    UPDATE customer_totals SET open_dues = open_dues + NEW.amount - NEW.paid
    WHERE shard = NEW.customer_id % 16 AND NEW.status IN ('open', 'partial')
      AND (SELECT status FROM customers WHERE id = NEW.customer_id) = 'active';
    UPDATE customers SET partial_dues = partial_dues - 1
    WHERE id = OLD.customer_id AND OLD.status = 'partial'
      AND NOT (NEW.status = 'partial' AND NEW.customer_id = OLD.customer_id);
    UPDATE customers SET partial_dues = partial_dues + 1
    WHERE id = NEW.customer_id AND NEW.status = 'partial'
      AND NOT (OLD.status = 'partial' AND NEW.customer_id = OLD.customer_id);
END;

CREATE TRIGGER figures_due_delete AFTER DELETE ON dues
BEGIN
    INSERT INTO dues_by_day (issue_date, shard, issued)
    SELECT OLD.issue_date, OLD.customer_id % 16, -OLD.amount WHERE OLD.status <> 'void'
    ON CONFLICT (issue_date, shard) DO UPDATE SET issued = dues_by_day.issued + excluded.issued;
    INSERT INTO open_dues_by_day (due_date, shard, outstanding)
    SELECT COALESCE(OLD.due_date, ''), OLD.customer_id % 16, OLD.paid - OLD.amount
    WHERE OLD.status IN ('open', 'partial')
      AND (SELECT status FROM customers WHERE id = OLD.customer_id) = 'active'
    ON CONFLICT (due_date, shard) DO UPDATE SET outstanding = open_dues_by_day.outstanding + excluded.outstanding;
    UPDATE customer_totals SET open_dues = open_dues - OLD.amount + OLD.paid
    WHERE shard = OLD.customer_id % 16 AND OLD.status IN ('open', 'partial')
      AND (SELECT status FROM customers WHERE id = OLD.customer_id) = 'active';
    UPDATE customers SET partial_dues = partial_dues - 1
    WHERE id = OLD.customer_id AND OLD.status = 'partial';
END;

CREATE TRIGGER figures_payment_insert AFTER INSERT ON payments
WHEN NEW.status = 'recorded'
BEGIN
    INSERT INTO payments_by_day (paid_on, shard, collected)
    VALUES (NEW.paid_on, NEW.customer_id % 16, NEW.amount)
    ON CONFLICT (paid_on, shard) DO UPDATE SET collected = payments_by_day.collected + excluded.collected;
END;

CREATE TRIGGER figures_payment_update AFTER UPDATE OF customer_id, amount, paid_on, status ON payments
WHEN (OLD.status = 'recorded') <> (NEW.status = 'recorded')
  OR (NEW.status = 'recorded' AND (OLD.customer_id IS NOT NEW.customer_id
      OR OLD.amount IS NOT NEW.amount OR OLD.paid_on IS NOT NEW.paid_on))
BEGIN
    INSERT INTO payments_by_day (paid_on, shard, collected)
    SELECT OLD.paid_on, OLD.customer_id % 16, -OLD.amount WHERE OLD.status = 'recorded'
    ON CONFLICT (paid_on, shard) DO UPDATE SET collected = payments_by_day.collected + excluded.collected;
    INSERT INTO payments_by_day (paid_on, shard, collected)
    SELECT NEW.paid_on, NEW.customer_id % 16, NEW.amount WHERE NEW.status = 'recorded'
    ON CONFLICT (paid_on, shard) DO UPDATE SET collected = payments_by_day.collected + excluded.collected;
END;

CREATE TRIGGER figures_payment_delete AFTER DELETE ON payments
WHEN OLD.status = 'recorded'
BEGIN
    INSERT INTO payments_by_day (paid_on, shard, collected)
    VALUES (OLD.paid_on, OLD.customer_id % 16, -OLD.amount)
    ON CONFLICT (paid_on, shard) DO UPDATE SET collected = payments_by_day.collected + excluded.collected;
END;
