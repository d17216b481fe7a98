package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/inspect"
)

// Inspection reads the bridge's state for bridge inspect and keeps the reports (bridge.inspection).
type Inspection struct {
	store *pgxpool.Pool
	lag   *MetricsState
}

var _ inspect.Store = (*Inspection)(nil)

// NewInspection reads the store, and the upstream for the capture lag (nil upstream: the lag is not read);
// maxCommitDelay puts capture's settle line.
func NewInspection(store, upstream *pgxpool.Pool, maxCommitDelay time.Duration) *Inspection {
	return &Inspection{store: store, lag: NewMetricsState(store, upstream, maxCommitDelay)}
}

// ServerVersion is a database's version as it reports it, e.g. "PostgreSQL 15.18 (Debian 15.18-0+deb12u1)".
func ServerVersion(ctx context.Context, db *pgxpool.Pool) (string, error) {
	var v string
	if err := db.QueryRow(ctx, `SELECT 'PostgreSQL ' || current_setting('server_version')`).Scan(&v); err != nil {
		return "", fmt.Errorf("ask the server's version: %w", err)
	}
	return v, nil
}

// CaptureLag is each table's durable watermark with the lag bridge_capture_lag_seconds reports.
func (s *Inspection) CaptureLag(ctx context.Context) ([]inspect.TableLag, error) {
	rows, err := s.store.Query(ctx, `SELECT table_name, update_time, saved_at FROM bridge.capture_watermark`)
	if err != nil {
		return nil, fmt.Errorf("read capture watermarks: %w", err)
	}
	marks := map[string]inspect.TableLag{}
	var l inspect.TableLag
	var mark, saved time.Time
	if _, err = pgx.ForEachRow(rows, []any{&l.Table, &mark, &saved}, func() error {
		m, at := mark, saved
		marks[l.Table] = inspect.TableLag{Table: l.Table, Watermark: &m, SavedAt: &at}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read capture watermarks: %w", err)
	}
	lag, err := s.lag.CaptureLag(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]inspect.TableLag, 0, len(events.Catalogue))
	for _, k := range events.Catalogue {
		l := marks[k.Table]
		l.Table, l.LagSeconds = k.Table, lag[k.Table].Seconds()
		out = append(out, l)
	}
	return out, nil
}

// examples is how many rows a backlog names: enough to start looking, few enough to read at a glance.
const examples = 5

// Backlogs reads parked rows, the quarantine and the outbox in one round trip: counts and ages, and a few table:id
// of the rows concerned (never their content).
func (s *Inspection) Backlogs(ctx context.Context, quarantinedSince time.Time) (parked, quarantine, outbox inspect.Backlog, err error) {
	err = s.store.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM bridge.parked),
		(SELECT coalesce(extract(epoch FROM clock_timestamp() - min(parked_at)), 0)::float8 FROM bridge.parked),
		(SELECT coalesce(array_agg(table_name || ':' || id), '{}') FROM
			(SELECT table_name, id FROM bridge.parked ORDER BY parked_at LIMIT $2) oldest),
		(SELECT count(*) FROM bridge.quarantine),
		(SELECT coalesce(extract(epoch FROM clock_timestamp() - min(quarantined_at)), 0)::float8 FROM bridge.quarantine),
		(SELECT count(*) FROM bridge.quarantine WHERE quarantined_at >= $1),
		(SELECT coalesce(array_agg(table_name || ':' || row_id), '{}') FROM
			(SELECT table_name, row_id FROM bridge.quarantine WHERE quarantined_at >= $1 ORDER BY seq DESC LIMIT $2) newest),
		(SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL),
		(SELECT coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 FROM bridge.outbox WHERE published_at IS NULL)`,
		quarantinedSince, examples).Scan(
		&parked.Rows, &parked.OldestAgeSeconds, &parked.Examples,
		&quarantine.Rows, &quarantine.OldestAgeSeconds, &quarantine.Recent, &quarantine.Examples,
		&outbox.Rows, &outbox.OldestAgeSeconds)
	if err != nil {
		err = fmt.Errorf("read parked rows, quarantine and outbox: %w", err)
	}
	return parked, quarantine, outbox, err
}

// LastReconciliation is the latest reconciliation run with up to ten of its findings that differed.
func (s *Inspection) LastReconciliation(ctx context.Context) (*inspect.Reconciliation, error) {
	var r inspect.Reconciliation
	var outcome, runErr *string
	var missing, repaired *int64
	err := s.store.QueryRow(ctx, `SELECT id, trigger, checks, dry_run, started_at, finished_at, outcome, missing, repaired, error
		FROM bridge.reconcile_run ORDER BY id DESC LIMIT 1`).Scan(
		&r.Run, &r.Trigger, &r.Checks, &r.DryRun, &r.StartedAt, &r.FinishedAt, &outcome, &missing, &repaired, &runErr)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the last reconciliation run: %w", err)
	}
	r.Outcome, r.Error = deref(outcome), deref(runErr)
	r.Missing, r.Repaired = derefInt(missing), derefInt(repaired)
	rows, err := s.store.Query(ctx, `SELECT concat_ws(' ', check_name, subject, unit_code, table_name, topic, kafka_partition, group_id)
			|| format(': expected %s, found %s, missing %s, repaired %s', expected, found, missing, repaired)
		FROM bridge.reconcile_finding WHERE run_id = $1 AND (missing > 0 OR found < expected AND subject <> 'consumer_group')
		ORDER BY n LIMIT 10`, r.Run)
	if err != nil {
		return nil, fmt.Errorf("read the findings of reconciliation run %d: %w", r.Run, err)
	}
	if r.Differences, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, fmt.Errorf("read the findings of reconciliation run %d: %w", r.Run, err)
	}
	return &r, nil
}

func derefInt(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}

// Disk is the database's size and its default tablespace; the free space comes from the file system under the
// data directory, which SQL does not show, so it is read only when that directory is on this machine, readable,
// and proven to be this cluster's (its global/pg_control carries the server's system identifier).
func (s *Inspection) Disk(ctx context.Context) (inspect.Disk, error) {
	var d inspect.Disk
	var location string
	err := s.store.QueryRow(ctx, `SELECT pg_database_size(d.oid), t.spcname, pg_tablespace_location(t.oid)
		FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = current_database()`).
		Scan(&d.DatabaseBytes, &d.Tablespace, &location)
	if err != nil {
		return d, fmt.Errorf("read the store database's size: %w", err)
	}
	dataDir, identifier, err := s.cluster(ctx)
	if err != nil {
		d.FreeUnknown = err.Error()
		return d, nil
	}
	if err := sameCluster(dataDir, identifier); err != nil {
		d.FreeUnknown = err.Error()
		return d, nil
	}
	d.Path = location
	if location == "" { // pg_default and pg_global live in the data directory
		d.Path = dataDir
	}
	free, total, err := statfs(d.Path)
	if err != nil {
		d.FreeUnknown = err.Error()
		return d, nil
	}
	percent := 100 * float64(free) / float64(max(total, 1))
	d.FreeBytes, d.TotalBytes, d.FreePercent = &free, &total, &percent
	return d, nil
}

// cluster is the server's data directory and system identifier. data_directory needs superuser or
// pg_read_all_settings; without it the free space stays unknown, and says so.
func (s *Inspection) cluster(ctx context.Context) (string, uint64, error) {
	var dir string
	var id int64
	err := s.store.QueryRow(ctx, `SELECT current_setting('data_directory'), (SELECT system_identifier FROM pg_control_system())`).Scan(&dir, &id)
	if err != nil {
		return "", 0, fmt.Errorf("unknown: the server does not show its data directory to the store's user (grant it pg_read_all_settings and EXECUTE on pg_control_system): %w", err)
	}
	return dir, uint64(id), nil
}

// Save keeps a report and prunes the ones older than keep.
func (s *Inspection) Save(ctx context.Context, r inspect.Report, keep time.Duration) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode inspection report: %w", err)
	}
	_, err = s.store.Exec(ctx, `WITH pruned AS (DELETE FROM bridge.inspection WHERE started_at < $6::timestamptz - $7::interval)
		INSERT INTO bridge.inspection (trigger, started_at, status, findings, version, report) VALUES ($1, $2, $3, $4, $5, $8)`,
		r.Trigger, r.StartedAt, string(r.Status), len(r.Findings), r.Bridge.Version, r.StartedAt, keep, body)
	if err != nil {
		return fmt.Errorf("keep the inspection report: %w", err)
	}
	return nil
}

// LatestInspection is the newest kept report (the status page shows it); ok is false when none was kept.
func LatestInspection(ctx context.Context, db *pgxpool.Pool) (r inspect.Report, ok bool, err error) {
	var body []byte
	err = db.QueryRow(ctx, `SELECT report FROM bridge.inspection ORDER BY started_at DESC, id DESC LIMIT 1`).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err == nil {
		err = json.Unmarshal(body, &r)
	}
	if err != nil {
		return r, false, fmt.Errorf("read the latest inspection: %w", err)
	}
	return r, true, nil
}

// LastInspected is when the newest kept inspection started; zero if none.
func LastInspected(ctx context.Context, db *pgxpool.Pool) (time.Time, error) {
	var at *time.Time
	if err := db.QueryRow(ctx, `SELECT max(started_at) FROM bridge.inspection`).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("read the last inspection: %w", err)
	}
	if at == nil {
		return time.Time{}, nil
	}
	return *at, nil
}

// SchemaVersion is the newest bridge schema migration applied (goose's bridge_schema_version).
func SchemaVersion(ctx context.Context, db *pgxpool.Pool) (int64, error) {
	var v *int64
	if err := db.QueryRow(ctx, `SELECT max(version_id) FROM bridge_schema_version WHERE is_applied`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read the bridge schema version: %w", err)
	}
	return derefInt(v), nil
}
