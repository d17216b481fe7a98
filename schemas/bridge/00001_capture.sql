-- +goose Up
-- The bridge's own state lives in schema bridge, apart from the dedicated store's tables.
CREATE SCHEMA IF NOT EXISTS bridge;

-- Durable capture positions: everything at or before (update_time, row_id) is on the broker and settled.
CREATE TABLE bridge.capture_watermark (
    table_name  text PRIMARY KEY,
    update_time timestamptz NOT NULL,
    row_id      text NOT NULL,
    saved_at    timestamptz NOT NULL
);

-- +goose Down
DROP TABLE bridge.capture_watermark;
