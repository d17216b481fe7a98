-- +goose Up
-- The keys that sign distribution events (ce_signature). A key the bridge made itself keeps its private half here
-- (PKCS#8 DER), so that every instance signs with the same one; a key from signing_key_file has only its public
-- half here, to be published. Retired keys stay: events they signed must still verify.
CREATE TABLE bridge.signing_key (
    key_id      text PRIMARY KEY,              -- from the public key (events/signing)
    algorithm   text NOT NULL,
    public_key  text NOT NULL,                 -- SubjectPublicKeyInfo, PEM
    private_key bytea,                         -- NULL: the key lives in a file, not here
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    retired_at  timestamptz,                   -- no new event is signed with it after this
    CHECK (algorithm IN ('ed25519', 'sm2-sm3')),
    CHECK (retired_at IS NULL OR private_key IS NOT NULL)
);
-- At most one stored key signs at a time: bridges starting together on an empty store cannot both create one.
CREATE UNIQUE INDEX signing_key_active_idx ON bridge.signing_key ((true))
    WHERE retired_at IS NULL AND private_key IS NOT NULL;

-- +goose Down
DROP TABLE bridge.signing_key;
