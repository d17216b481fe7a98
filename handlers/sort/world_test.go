package sort_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/sort"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// t0 is when the reference tree was captured; row versions are stamped minutes after it.
var t0 = time.Date(2025, 3, 15, 9, 0, 0, 0, time.UTC)

// storeSchema is the dedicated store's schema, as in production.
const storeSchema = "wuhan"

// world is a sorter over the real store, on a database of its own, and the fake upstream, with the reference
// tree already sorted. Its inspection helpers read the store's tables; they never go through the store's Go API,
// so the scenarios hold whatever implements it to the same outcomes.
type world struct {
	t        *testing.T
	db       *pgxpool.Pool
	store    *postgres.Store
	upstream *fakeUpstream
	sorter   *sort.Sorter
	taken    int64 // outbox seq up to which events were taken
}

// referenceTree is the part of docs/reference-org-tree.md the tests need: id, parent, division code.
var referenceTree = [][3]string{
	{"ORG-SAMR", "", ""},
	{"ORG-420000", "ORG-SAMR", "420000"},
	{"ORG-420100", "ORG-420000", "420100"},
	{"ORG-420102", "ORG-420100", "420102"},
	{"ORG-420102-S01", "ORG-420102", ""},
	{"ORG-420106", "ORG-420100", "420106"},
	{"ORG-420106-S03", "ORG-420106", ""},
	{"ORG-WH-DHGX", "ORG-420100", ""},
	{"ORG-WH-DHGX-S01", "ORG-WH-DHGX", ""},
	{"ORG-420200", "ORG-420000", "420200"},
}

// newWorld gives the test a fresh database with the bridge schema and the dedicated store. Worlds share nothing
// but the PostgreSQL server, so tests that build their own run in parallel.
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := postgres.Migrate(ctx, db, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if err := postgres.EnsureStore(ctx, db, storeSchema); err != nil {
		t.Fatal(err)
	}
	store, err := postgres.NewStore(ctx, db, storeSchema)
	if err != nil {
		t.Fatal(err)
	}
	up := &fakeUpstream{rows: map[rowKey]events.RowVersion{}}
	w := &world{t: t, db: db, store: store, upstream: up, sorter: sort.NewSorter(jurisdiction.DefaultUnits(), store, up)}
	for _, n := range referenceTree {
		w.sort(w.change(events.Organization, n[0], 0, orgCols(n[1], n[2])))
	}
	w.takeOutbox()
	return w
}

// orgCols are an organisation row's columns; "" is NULL.
func orgCols(parent, division string) map[string]any {
	return map[string]any{"parent_id": null(parent), "division_code": null(division), "name": "某市场监督管理局"}
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// version builds a captured row version: the payload carries id, update_time, is_deleted and cols.
func version(table, id string, minute int, cols map[string]any) events.RowVersion {
	at := t0.Add(time.Duration(minute) * time.Minute)
	row := map[string]any{"id": id, "update_time": events.FormatTime(at), "is_deleted": false}
	maps.Copy(row, cols)
	payload, err := json.Marshal(row)
	if err != nil {
		panic(err)
	}
	return events.RowVersion{Table: table, ID: id, UpdateTime: at, Payload: payload}
}

// change writes a new version of a row upstream, as the national platform does, and returns it as capture
// would deliver it. Whether and when it is sorted is up to the test.
func (w *world) change(table, id string, minute int, cols map[string]any) events.RowVersion {
	v := version(table, id, minute, cols)
	w.upstream.set(v)
	return v
}

func (w *world) sort(v events.RowVersion) {
	w.t.Helper()
	if err := w.sorter.Sort(context.Background(), v); err != nil {
		w.t.Fatalf("sort %s %s: %v", v.Table, v.ID, err)
	}
}

// exec runs a statement on the world's database, failing the test on error.
func (w *world) exec(sql string, args ...any) int64 {
	w.t.Helper()
	tag, err := w.db.Exec(context.Background(), sql, args...)
	if err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
	return tag.RowsAffected()
}

// distribution is one bridge.outbox event, reduced to what the tests compare.
type distribution struct{ Unit, Table, Type, RowID, Key string }

// String is "unit table.type id", e.g. "420106 registration.upserted R1".
func (d distribution) String() string { return d.Unit + " " + d.Table + "." + d.Type + " " + d.RowID }

// takeDistributions returns the outbox events written since the last take, in outbox order.
func (w *world) takeDistributions() []distribution {
	w.t.Helper()
	rows, err := w.db.Query(context.Background(), `SELECT seq, unit_code, table_name, event_type, row_id, record_key
		FROM bridge.outbox WHERE seq > $1 ORDER BY seq`, w.taken)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []distribution
	var seq int64
	var d distribution
	var eventType string
	_, err = pgx.ForEachRow(rows, []any{&seq, &d.Unit, &d.Table, &eventType, &d.RowID, &d.Key}, func() error {
		d.Type = strings.TrimPrefix(eventType, d.Table+".")
		out = append(out, d)
		w.taken = max(w.taken, seq)
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// takeOutbox returns the events emitted since the last call, as sorted "unit table.type id" lines.
func (w *world) takeOutbox() []string {
	w.t.Helper()
	var out []string
	for _, d := range w.takeDistributions() {
		out = append(out, d.String())
	}
	slices.Sort(out)
	return out
}

// wantOutbox checks the events emitted since the last take, in any order.
func (w *world) wantOutbox(want ...string) {
	w.t.Helper()
	slices.Sort(want)
	if got := w.takeOutbox(); !slices.Equal(got, want) {
		w.t.Errorf("events emitted:\n  got  %q\n  want %q", got, want)
	}
}

// storedUnit is the unit_code the dedicated store holds a row under, "" when it does not hold it.
func (w *world) storedUnit(name string) string {
	w.t.Helper()
	k := parseKey(name)
	var unit string
	err := w.db.QueryRow(context.Background(),
		`SELECT unit_code FROM `+pgx.Identifier{storeSchema, k.Table}.Sanitize()+` WHERE id = $1`, k.ID).Scan(&unit)
	if err != nil && err != pgx.ErrNoRows {
		w.t.Fatalf("read %s: %v", name, err)
	}
	return unit
}

// wantStored checks where rows are in the dedicated store: "table id" → unit, "" for not stored.
func (w *world) wantStored(want map[string]string) {
	w.t.Helper()
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if got := w.storedUnit(name); got != want[name] {
			w.t.Errorf("%s stored in unit %q, want %q", name, got, want[name])
		}
	}
}

// payloadOf returns a stored row's column.
func (w *world) payloadOf(name, column string) any {
	w.t.Helper()
	k := parseKey(name)
	var cols map[string]any
	err := w.db.QueryRow(context.Background(),
		`SELECT to_jsonb(t) FROM `+pgx.Identifier{storeSchema, k.Table}.Sanitize()+` t WHERE id = $1`, k.ID).Scan(&cols)
	if err == pgx.ErrNoRows {
		w.t.Fatalf("%s is not stored", name)
	}
	if err != nil {
		w.t.Fatalf("read %s: %v", name, err)
	}
	return cols[column]
}

// ledgerRows are the rows the ledger has an entry for, "table id", sorted; the organisations aside.
func (w *world) ledgerRows() []string {
	w.t.Helper()
	rows, err := w.db.Query(context.Background(), `SELECT table_name || ' ' || id FROM bridge.row_state
		WHERE table_name <> $1 ORDER BY 1`, events.OrgTreeKind.Table)
	if err != nil {
		w.t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

// parked is bridge.parked: "table id" → "table id" of the row it waits for.
func (w *world) parked() map[string]string {
	w.t.Helper()
	rows, err := w.db.Query(context.Background(), `SELECT table_name || ' ' || id, waiting_table || ' ' || waiting_id FROM bridge.parked`)
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]string{}
	var row, waiting string
	if _, err := pgx.ForEachRow(rows, []any{&row, &waiting}, func() error { out[row] = waiting; return nil }); err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *world) wantParked(want map[string]string) {
	w.t.Helper()
	if got := w.parked(); !maps.Equal(got, want) {
		w.t.Errorf("parked rows (row → waiting for): got %v, want %v", got, want)
	}
}

// quarantined is a bridge.quarantine row, in the order it was recorded.
type quarantined struct{ EventID, Table, ID, Reason string }

func (w *world) quarantine() []quarantined {
	w.t.Helper()
	rows, err := w.db.Query(context.Background(), `SELECT event_id, table_name, row_id, reason FROM bridge.quarantine ORDER BY seq`)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []quarantined
	var q quarantined
	if _, err := pgx.ForEachRow(rows, []any{&q.EventID, &q.Table, &q.ID, &q.Reason}, func() error { out = append(out, q); return nil }); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// snapshot is every row of every table of the bridge's schema and the dedicated store, each rendered as JSON and
// sorted, by "schema.table": what a transaction could have changed.
type snapshot map[string][]string

func (w *world) snapshot() snapshot {
	w.t.Helper()
	ctx := context.Background()
	rows, err := w.db.Query(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_schema IN ('bridge', $1) AND table_type = 'BASE TABLE'`, storeSchema)
	if err != nil {
		w.t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgx.Identifier, error) {
		var schema, table string
		err := r.Scan(&schema, &table)
		return pgx.Identifier{schema, table}, err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	out := snapshot{}
	for _, table := range tables {
		var content []string
		err := w.db.QueryRow(ctx, `SELECT coalesce(array_agg(to_jsonb(t)::text ORDER BY to_jsonb(t)::text), '{}') FROM `+table.Sanitize()+` t`).Scan(&content)
		if err != nil {
			w.t.Fatalf("read %s: %v", table.Sanitize(), err)
		}
		out[strings.Join(table, ".")] = content
	}
	return out
}

// changedSince names the tables whose content differs from before; "" when none does.
func (s snapshot) changedSince(before snapshot) string {
	tables := map[string]bool{}
	for table := range maps.Keys(before) {
		tables[table] = true
	}
	for table := range maps.Keys(s) {
		tables[table] = true
	}
	var changed []string
	for _, table := range slices.Sorted(maps.Keys(tables)) {
		if !slices.Equal(before[table], s[table]) {
			changed = append(changed, fmt.Sprintf("%s: %d rows → %d rows", table, len(before[table]), len(s[table])))
		}
	}
	return strings.Join(changed, "; ")
}

// passParkingTime makes every parked row d older, as if d had passed since it was parked: the store stamps
// parked_at with its own clock, which a test cannot move.
func (w *world) passParkingTime(d time.Duration) {
	w.t.Helper()
	w.exec(`UPDATE bridge.parked SET parked_at = parked_at - $1::interval`, d)
}

// hideParked sets the parked rows aside until the returned function puts them back, so that decisions in between
// do not see them: what a parent deciding concurrently with its child's parking (or a crash) leaves behind.
func (w *world) hideParked() (putBack func()) {
	w.t.Helper()
	w.exec(`CREATE TABLE public.parked_aside AS SELECT * FROM bridge.parked; DELETE FROM bridge.parked`)
	return func() {
		w.t.Helper()
		w.exec(`INSERT INTO bridge.parked SELECT * FROM public.parked_aside; DROP TABLE public.parked_aside`)
	}
}

// replaceParked puts version v of a parked row into the parking lot in place of the version parked, bypassing
// the sorter: a parked version the rules would refuse, whatever made it so.
func (w *world) replaceParked(v events.RowVersion) {
	w.t.Helper()
	if n := w.exec(`UPDATE bridge.parked SET update_time = $3, payload = $4 WHERE table_name = $1 AND id = $2`,
		v.Table, v.ID, v.UpdateTime, string(v.Payload)); n != 1 {
		w.t.Fatalf("%s %s is not parked", v.Table, v.ID)
	}
}

func parseKey(name string) rowKey {
	table, id, ok := strings.Cut(name, " ")
	if !ok {
		panic("row name is not \"table id\": " + name)
	}
	return rowKey{table, id}
}
