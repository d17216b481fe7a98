-- +goose Up
-- The ledger: the newest version of every national row the sorter has seen and what it decided, so that a
-- duplicate or an older version never overrides a newer decision, whatever order events arrive in.
CREATE TABLE bridge.row_state (
    table_name  text NOT NULL,
    id          text NOT NULL,
    update_time timestamptz NOT NULL,
    digest      text NOT NULL,
    decided     boolean NOT NULL DEFAULT false,
    unit_code   text,
    PRIMARY KEY (table_name, id)
);

-- The whole national organisation tree as captured: jurisdiction walks it, and it lives outside the dedicated
-- store because most of it is not Wuhan's.
CREATE TABLE bridge.org_tree (
    id            text PRIMARY KEY,
    parent_id     text,
    division_code text
);
CREATE INDEX org_tree_parent_idx ON bridge.org_tree (parent_id);

-- Rows whose deciding parent has not arrived yet.
CREATE TABLE bridge.parked (
    table_name    text NOT NULL,
    id            text NOT NULL,
    update_time   timestamptz NOT NULL,
    payload       text NOT NULL,
    waiting_table text NOT NULL,
    waiting_id    text NOT NULL,
    parked_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (table_name, id)
);
CREATE INDEX parked_waiting_idx ON bridge.parked (waiting_table, waiting_id);
CREATE INDEX parked_at_idx ON bridge.parked (parked_at);

-- Rows the bridge could not handle, with the reason. The payload stays here, in the store that holds personal
-- data anyway; reports and logs show only table, id and reason.
CREATE TABLE bridge.quarantine (
    seq            bigserial PRIMARY KEY,
    event_id       text NOT NULL,
    table_name     text NOT NULL,
    row_id         text NOT NULL,
    update_time    timestamptz,
    reason         text NOT NULL,
    payload        text,
    quarantined_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (event_id, reason)
);

-- Rows that left a unit or Wuhan: the dedicated store forgets them, the audit trail must not.
CREATE TABLE bridge.removal (
    seq         bigserial PRIMARY KEY,
    table_name  text NOT NULL,
    row_id      text NOT NULL,
    unit_code   text NOT NULL,
    update_time timestamptz NOT NULL,
    removed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The transactional outbox: distribution events written in the same transaction as the store change.
CREATE TABLE bridge.outbox (
    seq            bigserial PRIMARY KEY,
    event_id       text NOT NULL,
    unit_code      text NOT NULL,
    event_type     text NOT NULL,
    table_name     text NOT NULL,
    row_id         text NOT NULL,
    record_key     text NOT NULL,
    row_time       timestamptz NOT NULL,
    payload        text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at   timestamptz,
    kafka_partition integer,
    kafka_offset   bigint
);
CREATE INDEX outbox_pending_idx ON bridge.outbox (seq) WHERE published_at IS NULL;

-- +goose Down
DROP TABLE bridge.outbox, bridge.removal, bridge.quarantine, bridge.parked, bridge.org_tree, bridge.row_state;
