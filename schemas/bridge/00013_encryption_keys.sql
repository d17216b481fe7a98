-- +goose Up
-- The keys personal data in the store was sealed under (encryption at rest, bridge keys rotate): ids only, never a
-- key. A bridge registers the key it seals with at start and refuses to start while a key that may still have
-- sealed something is not configured; bridge keys rotate retires a key once nothing is sealed under it any more.
-- The sealed values themselves (enc:v1:<key id>:…) sit in the store's text columns and the text payloads of
-- bridge.outbox, bridge.parked and bridge.quarantine, which take them as they are: nothing to widen.
CREATE TABLE IF NOT EXISTS bridge.encryption_key (
    key_id     text PRIMARY KEY,
    algorithm  text NOT NULL,
    first_used timestamptz NOT NULL DEFAULT clock_timestamp(),
    retired_at timestamptz
);

-- +goose Down
DROP TABLE IF EXISTS bridge.encryption_key;
