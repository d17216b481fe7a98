-- +goose Up
-- The sign-for and feedback gateway. Callers hold bearer tokens; only a token's SHA-256 is kept (the tokens are
-- 256 random bits, so a fast hash is enough: there is nothing to guess). A caller is a unit code, or the hotline
-- caller acting for any unit.
CREATE TABLE bridge.gateway_token (
    id         text PRIMARY KEY, -- public handle for list and revoke: the first 12 hex digits of the hash
    caller     text NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

-- Every accepted request, written in the transaction of its outbound events (bridge.outbox rows for the unit's
-- topic and for the upstream topic) and its audit hop. (caller, idempotency_key) makes a retried request find its
-- stored response instead of being applied twice; body_digest tells a retry from a different request under the
-- same key. The payload may hold free text a clerk typed: it stays here, beside the store's other personal data.
CREATE TABLE bridge.gateway_request (
    request_id      text PRIMARY KEY,
    caller          text NOT NULL,
    idempotency_key text NOT NULL,
    body_digest     text NOT NULL,
    action          text NOT NULL,
    registration_id text NOT NULL,
    reg_no          text NOT NULL,
    unit_code       text NOT NULL,
    payload         jsonb NOT NULL, -- the event payload as published
    response        text NOT NULL,  -- the 202 body, returned again to a retry byte for byte
    accepted_at     timestamptz NOT NULL,
    upstream_seq    bigint NOT NULL, -- bridge.outbox seq of the upstream-bound event: delivered once it is published
    confirmed_at    timestamptz,     -- when the captured national rows were first seen to reflect it
    UNIQUE (caller, idempotency_key)
);
CREATE INDEX gateway_request_registration_idx ON bridge.gateway_request (registration_id, accepted_at);
CREATE INDEX gateway_request_unconfirmed_idx ON bridge.gateway_request (accepted_at) WHERE confirmed_at IS NULL;

-- +goose Down
DROP TABLE bridge.gateway_request, bridge.gateway_token;
