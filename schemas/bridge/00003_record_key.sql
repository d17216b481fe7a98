-- +goose Up
-- The Kafka key a stored row's events carry in its unit, kept so that it does not change while the row stays
-- there (a case linked to a work order later would otherwise spread one row's events over two partitions).
ALTER TABLE bridge.row_state ADD COLUMN record_key text;

-- +goose Down
ALTER TABLE bridge.row_state DROP COLUMN record_key;
