-- +goose Up
-- Inspections (bridge inspect, and the scheduled one inside bridge run): the whole report as JSON, for the status
-- page and for proving what the bridge looked like when. Counts, ages, tables, row ids, unit codes, addresses
-- and versions; never row content.
CREATE TABLE bridge.inspection (
    id          bigserial PRIMARY KEY,
    trigger     text NOT NULL,               -- command (bridge inspect) or schedule (inside bridge run)
    started_at  timestamptz NOT NULL,
    status      text NOT NULL,               -- ok, warning or critical
    findings    integer NOT NULL,            -- findings over a threshold
    version     text NOT NULL,               -- the inspecting bridge's version
    report      jsonb NOT NULL,              -- inspect.Report
    CHECK (status IN ('ok', 'warning', 'critical'))
);
CREATE INDEX inspection_started_idx ON bridge.inspection (started_at);

-- +goose Down
DROP TABLE bridge.inspection;
