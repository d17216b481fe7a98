-- +goose Up
-- Hops waiting for the audit topic: the sorter, the quarantine recorder and the forwarder write the hops of what
-- they did in the same transaction as the deed, one row per transaction, so no hop is lost or recorded for a
-- deed that rolled back. The relay publishes and deletes them.
CREATE TABLE bridge.audit_outbox (
    seq        bigserial PRIMARY KEY,
    hops       jsonb NOT NULL, -- a JSON array of hops without their ids; the relay names them by seq
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The audit trail, append-only: every hop of every row version that is or was Wuhan's, as the audit subscriber
-- read it from the audit topic. Ids, codes, numbers and times only; never row content.
CREATE TABLE bridge.audit_hop (
    hop_id          text PRIMARY KEY, -- "<audit_outbox seq>:<place>": a record delivered twice is kept once
    hop             text NOT NULL,
    at              timestamptz NOT NULL,
    table_name      text NOT NULL,
    row_id          text NOT NULL,
    version         timestamptz,
    unit_code       text,
    registration_id text,
    reg_no          text,
    topic           text,
    kafka_partition integer,
    kafka_offset    bigint,
    ce_id           text,
    trace_id        text,
    detail          jsonb,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_hop_row_idx ON bridge.audit_hop (table_name, row_id, at);
CREATE INDEX audit_hop_registration_idx ON bridge.audit_hop (registration_id) WHERE registration_id IS NOT NULL;
CREATE INDEX audit_hop_reg_no_idx ON bridge.audit_hop (reg_no) WHERE reg_no IS NOT NULL;
CREATE INDEX audit_hop_at_idx ON bridge.audit_hop (at);

-- +goose Down
DROP TABLE bridge.audit_hop, bridge.audit_outbox;
