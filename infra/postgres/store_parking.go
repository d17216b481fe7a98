package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/sort"
)

var _ sort.ParkedRows = (*Store)(nil)

// Quarantine records a bad row outside any sorting transaction (the quarantine topic's recorder), with its hops
// for the audit trail; the same event quarantined twice with the same reason is recorded once, hops included.
// It reports whether the row was newly set aside.
func (s *Store) Quarantine(ctx context.Context, v events.RowVersion, reason string, hops []events.Hop) (bool, error) {
	doc, _ := json.Marshal(hops) // plain values: Marshal cannot fail
	var recorded bool
	err := s.db.QueryRow(ctx, `WITH q AS (
			INSERT INTO bridge.quarantine (event_id, table_name, row_id, update_time, reason, payload)
			VALUES ($1, $2, $3, NULLIF($4, '0001-01-01'::timestamptz), $5, $6) ON CONFLICT (event_id, reason) DO NOTHING
			RETURNING 1),
		a AS (INSERT INTO bridge.audit_outbox (hops) SELECT $7::text FROM q WHERE jsonb_array_length($7::jsonb) > 0)
		SELECT EXISTS (SELECT 1 FROM q)`,
		v.EventID(), v.Table, v.ID, v.UpdateTime, reason, quarantinePayload(s.seal.SealQuarantined(v.Table, v.Payload)), string(doc)).Scan(&recorded)
	if err != nil {
		return false, fmt.Errorf("quarantine %s %s: %w", v.Table, v.ID, err)
	}
	return recorded, nil
}

// Decidable returns parked rows whose parent is now known: a decided work order, or an organisation in the tree.
func (s *Store) Decidable(ctx context.Context, limit int) ([]events.RowVersion, error) {
	rows, err := s.db.Query(ctx, `SELECT p.table_name, p.id, p.update_time, p.payload FROM bridge.parked p
		WHERE (p.waiting_table = $1 AND EXISTS (SELECT 1 FROM bridge.row_state r
				WHERE r.table_name = $1 AND r.id = p.waiting_id AND r.decided))
		   OR (p.waiting_table = $2 AND EXISTS (SELECT 1 FROM bridge.org_tree o WHERE o.id = p.waiting_id))
		ORDER BY p.parked_at LIMIT $3`, events.WorkOrderKind.Table, events.OrgTreeKind.Table, limit)
	if err != nil {
		return nil, fmt.Errorf("read decidable parked rows: %w", err)
	}
	return s.openParked(rows)
}

// ExpireOrphans moves rows parked longer than maxWait to quarantine, saying what they waited for, with their
// quarantined hops for the audit trail.
func (s *Store) ExpireOrphans(ctx context.Context, maxWait time.Duration) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `WITH orphan AS (
			DELETE FROM bridge.parked WHERE parked_at < clock_timestamp() - $1::interval RETURNING *),
		q AS (
			INSERT INTO bridge.quarantine (event_id, table_name, row_id, update_time, reason, payload)
			SELECT 'orphan:' || md5(table_name || id || update_time::text), table_name, id, update_time,
				'orphan: ' || waiting_table || ' ' || waiting_id || ' never arrived (parked since ' || parked_at || ')', payload
			FROM orphan ON CONFLICT (event_id, reason) DO NOTHING
			RETURNING table_name, row_id, update_time, reason),
		hops AS (
			INSERT INTO bridge.audit_outbox (hops)
			SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('hop', 'quarantined', 'at', clock_timestamp(),
				'table', q.table_name, 'id', q.row_id, 'version', q.update_time,
				'registration_id', CASE WHEN o.waiting_table = $2 THEN o.waiting_id END,
				'detail', jsonb_build_object('reason', q.reason))))::text
			FROM q JOIN orphan o ON o.table_name = q.table_name AND o.id = q.row_id
			HAVING count(*) > 0)
		SELECT count(*) FROM q`, maxWait, events.WorkOrderKind.Table).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("expire orphans: %w", err)
	}
	return n, nil
}

// pruneChunk bounds one pruning statement, so that pruning never holds many row locks for long.
const pruneChunk = 5000

// PruneLedger forgets ledger entries that can no longer matter: rows not Wuhan's (never, or no longer), of kinds
// no other kind depends on, decided longer than retention ago. They guard against an older version delivered
// late, and after the retention none is. Entries of work orders and organisations stay: dependants look them up.
// The hours of update_time it took entries from are noted in bridge.ledger_pruned (tombstones of deleted rows
// aside: source reconciliation does not count them), so that source reconciliation knows which windows the
// ledger no longer covers whole.
func (s *Store) PruneLedger(ctx context.Context, retention time.Duration) (int, error) {
	var parents []string
	for _, k := range events.Catalogue {
		if k.Parent() {
			parents = append(parents, k.Table)
		}
	}
	total := 0
	for {
		var n int
		err := s.db.QueryRow(ctx, `WITH gone AS (
				DELETE FROM bridge.row_state WHERE ctid = ANY(ARRAY(
					SELECT ctid FROM bridge.row_state
					WHERE decided AND unit_code IS NULL AND decided_at < now() - $1::interval AND table_name <> ALL($2)
					LIMIT $3))
				RETURNING table_name, update_time, digest),
			noted AS (
				INSERT INTO bridge.ledger_pruned (table_name, hour, entries)
				SELECT table_name, date_trunc('hour', update_time), count(*) FROM gone WHERE digest <> $4 GROUP BY 1, 2
				ON CONFLICT (table_name, hour) DO UPDATE SET entries = bridge.ledger_pruned.entries + excluded.entries)
			SELECT count(*) FROM gone`, retention, parents, pruneChunk, sort.DigestDeletedUpstream).Scan(&n)
		if err != nil {
			return total, fmt.Errorf("prune the ledger: %w", err)
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}
