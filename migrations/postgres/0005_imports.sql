-- A customer brought in by `duetrack import` carries a key derived from
-- where it came from (a hash, never the data itself), so that running the
-- same import again finds it and adds nothing twice.
ALTER TABLE customers ADD COLUMN import_key TEXT;
CREATE UNIQUE INDEX customers_by_import_key ON customers (import_key) WHERE import_key IS NOT NULL;
