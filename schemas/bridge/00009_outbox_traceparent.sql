-- +goose Up
-- The W3C trace context each distribution event was created in (the sort's store transaction), so that the
-- forwarder's spans and the unit-topic record's traceparent continue the row version's trace from capture on.
-- NULL when tracing was off: the forwarder then gives the record a trace context of its own.
ALTER TABLE bridge.outbox ADD COLUMN traceparent text;

-- +goose Down
ALTER TABLE bridge.outbox DROP COLUMN traceparent;
