package postgres

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/handlers/sort"
)

// Write applies a batch's decisions with one multi-row statement per table: the store rows first (a value they
// refuse fails the batch with the rows at fault named), then everything else together in one round trip.
func (t *storeTx) Write(ctx context.Context, w *sort.Writes) (sort.Written, error) {
	if len(t.locks) > 0 { // locks taken after the last read
		var b pgx.Batch
		t.queueLocks(&b)
		if err := t.tx.SendBatch(ctx, &b).Close(); err != nil {
			return sort.Written{}, err
		}
	}
	seal := newBatchSealer(t.store.seal)
	if err := t.storeRows(ctx, w.Rows, seal); err != nil {
		return sort.Written{}, err
	}
	var rest pgx.Batch
	queueLedger(&rest, w.Ledger)
	queueEvents(&rest, w.Events, seal)
	queueRemovals(&rest, w.Removals)
	queueParking(&rest, w.Park, w.Unpark, seal)
	quarantined := queueQuarantine(&rest, w.Quarantine, seal)
	queueHops(&rest, w.Hops)
	version := queueOrgs(&rest, w)
	if err := t.tx.SendBatch(ctx, &rest).Close(); err != nil {
		return sort.Written{}, err
	}
	return sort.Written{TreeVersion: *version, Quarantined: quarantined}, nil
}

func queueLedger(b *pgx.Batch, rows []sort.LedgerRow) {
	if len(rows) == 0 {
		return
	}
	n := len(rows)
	tables, ids, times, digests := make([]string, n), make([]string, n), make([]time.Time, n), make([]string, n)
	decided, units, keys, reconciled := make([]bool, n), make([]string, n), make([]string, n), make([]bool, n)
	for i, r := range rows {
		tables[i], ids[i], times[i], digests[i] = r.Table, r.ID, r.UpdateTime, r.Digest
		decided[i], units[i], keys[i], reconciled[i] = r.Decided, r.Unit, r.Key, r.Reconciled
	}
	b.Queue(`INSERT INTO bridge.row_state (table_name, id, update_time, digest, decided, unit_code, record_key, reconciled)
		SELECT t, id, ut, d, dec, NULLIF(u, ''), NULLIF(k, ''), rec
		FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::bool[], $6::text[], $7::text[], $8::bool[])
			AS x(t, id, ut, d, dec, u, k, rec)
		ON CONFLICT (table_name, id) DO UPDATE SET update_time = excluded.update_time, digest = excluded.digest,
			decided = excluded.decided, unit_code = excluded.unit_code, record_key = excluded.record_key,
			reconciled = excluded.reconciled, decided_at = now()`,
		tables, ids, times, digests, decided, units, keys, reconciled).Fn = failure("record %d verdicts in the ledger", n)
}

// queueEvents writes the distribution events in order: each takes the next outbox seq as unnest yields it, and
// the seq completes its scope into the ce_id. Their payloads are kept sealed; the forwarder opens them to publish.
func queueEvents(b *pgx.Batch, evs []sort.Event, seal Sealer) {
	if len(evs) == 0 {
		return
	}
	n := len(evs)
	scopes, units, types, tables, ids := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	keys, times, payloads, traces := make([]string, n), make([]time.Time, n), make([]string, n), make([]string, n)
	for i, e := range evs {
		scopes[i], units[i], types[i], tables[i], ids[i] = e.Scope, e.Unit, e.Type, e.Table, e.RowID
		keys[i], times[i], payloads[i], traces[i] = e.Key, e.RowTime, string(seal.Seal(e.Table, e.Payload)), e.TraceParent
	}
	b.Queue(`INSERT INTO bridge.outbox (seq, event_id, unit_code, event_type, table_name, row_id, record_key, row_time, payload, traceparent)
		SELECT s.seq, md5(s.scope || ':' || s.seq), s.u, s.ty, s.t, s.id, s.k, s.rt, s.p, nullif(s.tp, '')
		FROM (SELECT nextval('bridge.outbox_seq_seq') AS seq, x.*
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[])
				WITH ORDINALITY AS x(scope, u, ty, t, id, k, rt, p, tp, ord)) s
		ORDER BY s.ord`,
		scopes, units, types, tables, ids, keys, times, payloads, traces).Fn = failure("write %d events to the outbox", n)
}

func queueRemovals(b *pgx.Batch, rs []sort.Removal) {
	if len(rs) == 0 {
		return
	}
	n := len(rs)
	tables, ids, units, times := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i, r := range rs {
		tables[i], ids[i], units[i], times[i] = r.Table, r.ID, r.Unit, r.UpdateTime
	}
	b.Queue(`INSERT INTO bridge.removal (table_name, row_id, unit_code, update_time)
		SELECT t, id, u, ut FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS x(t, id, u, ut, ord) ORDER BY ord`,
		tables, ids, units, times).Fn = failure("record %d removals", n)
}

func queueParking(b *pgx.Batch, park []sort.ParkRow, unpark []sort.UnparkRow, seal Sealer) {
	if n := len(unpark); n > 0 {
		tables, ids, upTo := make([]string, n), make([]string, n), make([]time.Time, n)
		for i, u := range unpark {
			tables[i], ids[i], upTo[i] = u.Table, u.ID, u.UpTo
		}
		b.Queue(`DELETE FROM bridge.parked p USING unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(t, id, upto)
			WHERE p.table_name = u.t AND p.id = u.id AND p.update_time <= u.upto`, tables, ids, upTo).Fn = failure("unpark %d rows", n)
	}
	if n := len(park); n > 0 {
		tables, ids, times, payloads := make([]string, n), make([]string, n), make([]time.Time, n), make([]string, n)
		wTables, wIDs := make([]string, n), make([]string, n)
		for i, p := range park {
			v := p.Version
			tables[i], ids[i], times[i], payloads[i] = v.Table, v.ID, v.UpdateTime, string(seal.Seal(v.Table, v.Payload))
			wTables[i], wIDs[i] = p.Waiting.Table, p.Waiting.ID
		}
		b.Queue(`INSERT INTO bridge.parked (table_name, id, update_time, payload, waiting_table, waiting_id)
			SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[])
			ON CONFLICT (table_name, id) DO UPDATE SET update_time = excluded.update_time, payload = excluded.payload,
				waiting_table = excluded.waiting_table, waiting_id = excluded.waiting_id
			WHERE bridge.parked.update_time <= excluded.update_time`,
			tables, ids, times, payloads, wTables, wIDs).Fn = failure("park %d rows", n)
	}
}

// queueQuarantine sets rows aside; the event id is the plaintext version's, as capture gave it. The map it
// returns is filled in, by table, with the rows not set aside before, once the batch is sent.
func queueQuarantine(b *pgx.Batch, qs []sort.QuarantineRow, seal Sealer) map[string]int {
	recorded := map[string]int{}
	if len(qs) == 0 {
		return recorded
	}
	n := len(qs)
	evIDs, tables, ids, times, reasons, payloads := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n), make([]string, n), make([]string, n)
	for i, q := range qs {
		v := q.Version
		evIDs[i], tables[i], ids[i], times[i], reasons[i], payloads[i] = v.EventID(), v.Table, v.ID, v.UpdateTime, q.Reason, quarantinePayload(seal.SealQuarantined(v.Table, v.Payload))
	}
	b.Queue(`WITH q AS (
			INSERT INTO bridge.quarantine (event_id, table_name, row_id, update_time, reason, payload)
			SELECT e, t, id, NULLIF(ut, '0001-01-01'::timestamptz), r, p
			FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[]) WITH ORDINALITY AS x(e, t, id, ut, r, p, ord)
			ORDER BY ord
			ON CONFLICT (event_id, reason) DO NOTHING
			RETURNING table_name)
		SELECT table_name, count(*) FROM q GROUP BY table_name`, evIDs, tables, ids, times, reasons, payloads).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var table string
			var count int
			if err := rows.Scan(&table, &count); err != nil {
				return err
			}
			recorded[table] = count
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("quarantine %d rows: %w", n, err)
		}
		return nil
	})
	return recorded
}

// queueOrgs saves the organisations the batch changed and raises the tree version; the version it returns is
// filled in once the batch is sent.
func queueOrgs(b *pgx.Batch, w *sort.Writes) *int64 {
	version := new(int64)
	if len(w.Orgs) == 0 {
		return version
	}
	n := len(w.Orgs)
	ids, parents, divisions := make([]string, n), make([]string, n), make([]string, n)
	for i, o := range w.Orgs {
		ids[i], parents[i], divisions[i] = o.ID, o.ParentID, o.DivisionCode
	}
	b.Queue(`INSERT INTO bridge.org_tree (id, parent_id, division_code)
		SELECT id, NULLIF(p, ''), NULLIF(d, '') FROM unnest($1::text[], $2::text[], $3::text[]) AS x(id, p, d)
		ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, division_code = excluded.division_code`,
		ids, parents, divisions).Fn = failure("save %d organisations", n)
	b.Queue(`UPDATE bridge.org_tree_version SET version = version + 1 RETURNING version`).QueryRow(func(r pgx.Row) error {
		return r.Scan(version)
	})
	return version
}

// quarantinePayload keeps a payload as text: one that is not valid UTF-8 (it came from a malformed record) is
// kept as hex, so that recording it cannot fail.
func quarantinePayload(p []byte) string {
	if utf8.Valid(p) && bytes.IndexByte(p, 0) < 0 {
		return string(p)
	}
	return `\x` + hex.EncodeToString(p)
}
