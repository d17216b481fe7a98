-- +goose Up
-- Replay jobs (bridge replay): what to re-send or re-sort, from which source, and how far it got. The checkpoint
-- is where a job resumes after an interruption (a SIGKILL included); a store replay writes it in the transaction
-- that writes the fresh events, so a resumed job re-sends nothing twice. Filters hold unit codes, table names,
-- times, row ids and registration numbers; never row content.
CREATE TABLE bridge.replay_job (
    id          bigserial PRIMARY KEY,
    source      text NOT NULL,                 -- store, capture or upstream
    filter      jsonb NOT NULL,
    handed      boolean NOT NULL,              -- handed to the running bridges (bridge replay --submit)
    state       text NOT NULL,                 -- submitted, running, paused, done or failed
    checkpoint  jsonb,                         -- where the job resumes; NULL before its first step
    total       bigint,                        -- what the source held for the filter when the job started
    done        bigint NOT NULL DEFAULT 0,     -- of total, how much the job has been through
    rows_read   bigint NOT NULL DEFAULT 0,     -- row versions the source gave (after the filter)
    rows_sent   bigint NOT NULL DEFAULT 0,     -- re-sent (store) or re-sorted (capture, upstream)
    rejected    bigint NOT NULL DEFAULT 0,     -- bad rows a re-sort could not decide (they stay in quarantine)
    counts      jsonb NOT NULL DEFAULT '{}',   -- by "unit table" (store) or "table" (capture, upstream)
    error       text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at  timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    CHECK (source IN ('store', 'capture', 'upstream')),
    CHECK (state IN ('submitted', 'running', 'paused', 'done', 'failed'))
);
CREATE INDEX replay_job_open_idx ON bridge.replay_job (id) WHERE state IN ('submitted', 'running', 'paused');

-- +goose Down
DROP TABLE bridge.replay_job;
