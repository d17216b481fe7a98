-- +goose NO TRANSACTION
-- +goose Up
-- Source reconciliation compares the ledger with the national upstream per table and window of update_time.
-- The index is built concurrently, so that a running bridge keeps sorting while it is created on a large ledger.
CREATE INDEX CONCURRENTLY IF NOT EXISTS row_state_window_idx ON bridge.row_state (table_name, update_time);

-- A version source reconciliation found current upstream, or a row it found deleted there: under the same
-- update_time only another re-read from upstream replaces it.
ALTER TABLE bridge.row_state ADD COLUMN IF NOT EXISTS reconciled boolean NOT NULL DEFAULT false;

-- Which hours of update_time the ledger pruning took entries from, per table: a window that lost entries to it
-- cannot be compared with the whole upstream (the ledger no longer knows every national row there).
CREATE TABLE IF NOT EXISTS bridge.ledger_pruned (
    table_name text NOT NULL,
    hour       timestamptz NOT NULL,
    entries    bigint NOT NULL,
    PRIMARY KEY (table_name, hour)
);

-- Findings of the source check name the window of update_time they cover.
ALTER TABLE bridge.reconcile_finding ADD COLUMN IF NOT EXISTS window_start timestamptz,
    ADD COLUMN IF NOT EXISTS window_end timestamptz;

-- +goose Down
ALTER TABLE bridge.reconcile_finding DROP COLUMN IF EXISTS window_start, DROP COLUMN IF EXISTS window_end;
DROP TABLE IF EXISTS bridge.ledger_pruned;
ALTER TABLE bridge.row_state DROP COLUMN IF EXISTS reconciled;
DROP INDEX CONCURRENTLY IF EXISTS bridge.row_state_window_idx;
