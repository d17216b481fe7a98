package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/sort"
)

// SaveOrg keeps the national tree; moved reports that a known organisation changed parent or division.
func (t *storeTx) SaveOrg(ctx context.Context, org jurisdiction.Org) (bool, error) {
	var parent, division *string
	known := true
	err := t.queryRow(ctx, func(row pgx.Row) error {
		err := row.Scan(&parent, &division)
		if errors.Is(err, pgx.ErrNoRows) {
			known, err = false, nil
		}
		return err
	}, `SELECT parent_id, division_code FROM bridge.org_tree WHERE id = $1`, org.ID)
	if err != nil {
		return false, fmt.Errorf("read organisation %s: %w", org.ID, err)
	}
	t.later("save organisation "+org.ID,
		`INSERT INTO bridge.org_tree (id, parent_id, division_code) VALUES ($1, NULLIF($2, ''), NULLIF($3, ''))
		ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, division_code = excluded.division_code`,
		org.ID, org.ParentID, org.DivisionCode)
	return known && (deref(parent) != org.ParentID || deref(division) != org.DivisionCode), nil
}

// Ancestors loads the path from id to the root in one recursive query; the depth bound guards against cycles.
func (t *storeTx) Ancestors(ctx context.Context, id string) (map[string]jurisdiction.Org, error) {
	out := map[string]jurisdiction.Org{}
	err := t.query(ctx, func(rows pgx.Rows) error {
		for rows.Next() {
			var o jurisdiction.Org
			if err := rows.Scan(&o.ID, &o.ParentID, &o.DivisionCode); err != nil {
				return err
			}
			out[o.ID] = o
		}
		return rows.Err()
	}, `WITH RECURSIVE path AS (
			SELECT id, parent_id, division_code, 1 AS depth FROM bridge.org_tree WHERE id = $1
			UNION ALL
			SELECT o.id, o.parent_id, o.division_code, p.depth + 1 FROM bridge.org_tree o JOIN path p ON o.id = p.parent_id
			WHERE p.depth < 64)
		SELECT id, coalesce(parent_id, ''), coalesce(division_code, '') FROM path`, id)
	if err != nil {
		return nil, fmt.Errorf("read ancestors of organisation %s: %w", id, err)
	}
	return out, nil
}

// Descendants lists every organisation below id.
func (t *storeTx) Descendants(ctx context.Context, id string) ([]string, error) {
	var ids []string
	err := t.query(ctx, func(rows pgx.Rows) (err error) {
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}, `WITH RECURSIVE below AS (
			SELECT id, 1 AS depth FROM bridge.org_tree WHERE parent_id = $1
			UNION ALL
			SELECT o.id, b.depth + 1 FROM bridge.org_tree o JOIN below b ON o.parent_id = b.id WHERE b.depth < 64)
		SELECT DISTINCT id FROM below`, id)
	if err != nil {
		return nil, fmt.Errorf("read organisations below %s: %w", id, err)
	}
	return ids, nil
}

// Park keeps the newest version of a row whose parent has not arrived.
func (t *storeTx) Park(ctx context.Context, v events.RowVersion, waiting jurisdiction.Dependency) error {
	t.later("park "+v.Table+" "+v.ID, `INSERT INTO bridge.parked (table_name, id, update_time, payload, waiting_table, waiting_id)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (table_name, id) DO UPDATE SET update_time = excluded.update_time, payload = excluded.payload,
			waiting_table = excluded.waiting_table, waiting_id = excluded.waiting_id
		WHERE bridge.parked.update_time <= excluded.update_time`,
		v.Table, v.ID, v.UpdateTime, string(v.Payload), waiting.Table, waiting.ID)
	return nil
}

// Unpark forgets a parked row once a version at least as new is decided.
func (t *storeTx) Unpark(ctx context.Context, table, id string, upTo time.Time) error {
	t.later("unpark "+table+" "+id, `DELETE FROM bridge.parked WHERE table_name = $1 AND id = $2 AND update_time <= $3`, table, id, upTo)
	return nil
}

// Parked returns the rows waiting for a parent.
func (t *storeTx) Parked(ctx context.Context, waiting jurisdiction.Dependency) ([]events.RowVersion, error) {
	var parked []events.RowVersion
	err := t.query(ctx, func(rows pgx.Rows) (err error) {
		parked, err = collectVersions(rows)
		return err
	}, `SELECT table_name, id, update_time, payload FROM bridge.parked WHERE waiting_table = $1 AND waiting_id = $2`, waiting.Table, waiting.ID)
	if err != nil {
		return nil, fmt.Errorf("read rows %s: %w", waiting, err)
	}
	return parked, nil
}

func collectVersions(rows pgx.Rows) ([]events.RowVersion, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.RowVersion, error) {
		var v events.RowVersion
		err := r.Scan(&v.Table, &v.ID, &v.UpdateTime, &v.Payload)
		return v, err
	})
}

// Quarantine records a bad row with its reason; the same event quarantined twice is recorded once.
// A quarantined row also leaves parking: otherwise the sweep would release it again and again.
func (t *storeTx) Quarantine(ctx context.Context, v events.RowVersion, reason string) error {
	if err := t.Unpark(ctx, v.Table, v.ID, v.UpdateTime); err != nil {
		return err
	}
	if err := t.send(ctx); err != nil {
		return err
	}
	return quarantine(ctx, t.tx, v, reason)
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func quarantine(ctx context.Context, db execer, v events.RowVersion, reason string) error {
	_, err := db.Exec(ctx, `INSERT INTO bridge.quarantine (event_id, table_name, row_id, update_time, reason, payload)
		VALUES ($1, $2, $3, NULLIF($4, '0001-01-01'::timestamptz), $5, $6) ON CONFLICT (event_id, reason) DO NOTHING`,
		v.EventID(), v.Table, v.ID, v.UpdateTime, reason, string(v.Payload))
	if err != nil {
		return fmt.Errorf("quarantine %s %s: %w", v.Table, v.ID, err)
	}
	return nil
}

// Quarantine records a bad row outside any sorting transaction (the poison queue's recorder).
func (s *Store) Quarantine(ctx context.Context, v events.RowVersion, reason string) error {
	return quarantine(ctx, s.db, v, reason)
}

// Decidable returns parked rows whose parent is now known.
func (s *Store) Decidable(ctx context.Context, limit int) ([]events.RowVersion, error) {
	rows, err := s.db.Query(ctx, `SELECT p.table_name, p.id, p.update_time, p.payload FROM bridge.parked p
		WHERE (p.waiting_table = 'registration' AND EXISTS (SELECT 1 FROM bridge.row_state r
				WHERE r.table_name = 'registration' AND r.id = p.waiting_id AND r.decided))
		   OR (p.waiting_table = 'organization' AND EXISTS (SELECT 1 FROM bridge.org_tree o WHERE o.id = p.waiting_id))
		ORDER BY p.parked_at LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read decidable parked rows: %w", err)
	}
	return collectVersions(rows)
}

// ExpireOrphans moves rows parked longer than maxWait to quarantine, saying what they waited for.
func (s *Store) ExpireOrphans(ctx context.Context, maxWait time.Duration) (int, error) {
	tag, err := s.db.Exec(ctx, `WITH orphan AS (
			DELETE FROM bridge.parked WHERE parked_at < clock_timestamp() - $1::interval RETURNING *)
		INSERT INTO bridge.quarantine (event_id, table_name, row_id, update_time, reason, payload)
		SELECT 'orphan:' || md5(table_name || id || update_time::text), table_name, id, update_time,
			'orphan: ' || waiting_table || ' ' || waiting_id || ' never arrived (parked since ' || parked_at || ')', payload
		FROM orphan ON CONFLICT (event_id, reason) DO NOTHING`, maxWait)
	if err != nil {
		return 0, fmt.Errorf("expire orphans: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

var _ sort.ParkedRows = (*Store)(nil)
