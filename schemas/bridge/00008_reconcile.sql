-- +goose Up
-- Reconciliation runs and what they found, for reports and inspection. Counts, codes, topics and offsets only;
-- never row content.
CREATE TABLE bridge.reconcile_run (
    id          bigserial PRIMARY KEY,
    trigger     text NOT NULL,            -- schedule (inside bridge run) or command (bridge reconcile --once)
    checks      text[] NOT NULL,          -- the checks run: delivery (source later)
    dry_run     boolean NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,              -- NULL while it runs, or if its instance died during it
    outcome     text,                     -- consistent, repaired, unrepaired or failed
    missing     bigint,
    repaired    bigint,
    error       text
);
CREATE INDEX reconcile_run_started_idx ON bridge.reconcile_run (started_at);

CREATE TABLE bridge.reconcile_finding (
    run_id          bigint NOT NULL REFERENCES bridge.reconcile_run (id) ON DELETE CASCADE,
    n               integer NOT NULL,     -- the order the run reported it in
    check_name      text NOT NULL,        -- delivery (source later)
    subject         text NOT NULL,        -- unit, partition or consumer_group
    unit_code       text,
    table_name      text,                 -- for checks per table
    topic           text,
    kafka_partition integer,
    group_id        text,
    expected        bigint NOT NULL,
    found           bigint NOT NULL,
    pending         bigint NOT NULL,
    missing         bigint NOT NULL,
    repaired        bigint NOT NULL,
    detail          text,
    PRIMARY KEY (run_id, n)
);

-- The delivery check reads the latest event of every row of a unit.
CREATE INDEX outbox_unit_row_idx ON bridge.outbox (unit_code, table_name, row_id, seq);

-- +goose Down
DROP INDEX bridge.outbox_unit_row_idx;
DROP TABLE bridge.reconcile_finding, bridge.reconcile_run;
