package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/events/signing"
	"hotline-bridge/handlers/distribute"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var outboxUnits = []string{"420102", "420106", events.BroadcastUnit}

func TestOutboxForwardsEventsToUnitTopics(t *testing.T) {
	ctx := context.Background()
	db := newBridgeDB(t)
	brokers := testenv.KafkaBrokers(t)
	insertOutbox(t, db, 0, 2500)
	fwd, prefix := newKafkaForwarder(t, db, brokers, io.Discard)

	if n, err := fwd.Drain(ctx); err != nil || n != 2500 {
		t.Fatalf("Drain = %d, %v; want 2500", n, err)
	}
	records := readUnitTopics(t, brokers, prefix)
	assertRecordsMatchOutbox(t, db, records, prefix)
	assertOneCopyEach(t, records, 2500)
	if n, err := fwd.Drain(ctx); err != nil || n != 0 {
		t.Fatalf("second Drain = %d, %v; want nothing left", n, err)
	}
}

func TestOutboxForwardsOnlyCommittedEvents(t *testing.T) {
	ctx := context.Background()
	db := newBridgeDB(t)
	brokers := testenv.KafkaBrokers(t)
	// An open transaction takes seq 1 first and commits only after the others are forwarded: there is no seq
	// cursor to skip past it.
	late, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = late.Rollback(ctx) }()
	insertOutbox(t, late, 0, 1)
	insertOutbox(t, db, 1, 10)
	fwd, prefix := newKafkaForwarder(t, db, brokers, io.Discard)

	if n, err := fwd.Drain(ctx); err != nil || n != 10 {
		t.Fatalf("Drain = %d, %v; want the 10 committed events", n, err)
	}
	for _, r := range readUnitTopics(t, brokers, prefix) {
		if id := r.Headers[events.HeaderID]; id == "ev-1" {
			t.Fatalf("uncommitted event %s was published", id)
		}
	}
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := fwd.Drain(ctx); err != nil || n != 1 {
		t.Fatalf("Drain after the late commit = %d, %v; want 1", n, err)
	}
	assertOneCopyEach(t, readUnitTopics(t, brokers, prefix), 11)
	if pending := countPending(t, db); pending != 0 {
		t.Fatalf("%d events still pending", pending)
	}
}

func TestOutboxLetsOneForwarderAtATimeSend(t *testing.T) {
	ctx := context.Background()
	url := testenv.Postgres(t)
	db := openBridgeDB(t, url)
	insertOutbox(t, db, 0, 5000)
	sender := &serialSender{t: t}
	var wg sync.WaitGroup
	counts := make([]int, 3)
	for i := range counts {
		// Each forwarder has its own pool, as separate bridge instances would.
		f, err := distribute.NewForwarder(distribute.Config{BatchSize: 700}, postgres.NewOutbox(openBridgeDB(t, url)), sender, quiet())
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			n, err := f.Drain(ctx)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		})
	}
	wg.Wait()
	if counts[0]+counts[1]+counts[2] != 5000 || len(sender.seqs) != 5000 {
		t.Fatalf("forwarders published %v, the sender saw %d events; want 5000 in all", counts, len(sender.seqs))
	}
	for i, seq := range sender.seqs {
		if seq != int64(i+1) {
			t.Fatalf("send %d carried outbox event %d: sent twice or out of order", i, seq)
		}
	}
	if pending := countPending(t, db); pending != 0 {
		t.Fatalf("%d events still pending", pending)
	}
}

// serialSender fails the test when two forwarders send at once, and records what it was given.
type serialSender struct {
	t        *testing.T
	mu       sync.Mutex
	inFlight bool
	seqs     []int64
}

func (s *serialSender) Send(_ context.Context, batch []events.Distribution) ([]distribute.Published, error) {
	s.mu.Lock()
	if s.inFlight {
		s.t.Error("two forwarders were sending at the same time")
	}
	s.inFlight = true
	s.mu.Unlock()
	published := make([]distribute.Published, len(batch))
	for i, d := range batch {
		published[i] = distribute.Published{Seq: d.Seq, Offset: d.Seq}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range batch {
		s.seqs = append(s.seqs, d.Seq)
	}
	s.inFlight = false
	return published, nil
}

func TestOutboxForwardingSurvivesBrokerOutage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	broker := testenv.OwnKafka(t)
	db := newBridgeDB(t)
	logs := &testenv.SyncBuffer{}
	fwd, prefix := newKafkaForwarder(t, db, []string{broker.Addr()}, logs)
	insertOutbox(t, db, 0, 1000)
	done := make(chan error, 1)
	go func() { done <- fwd.Run(ctx, 20*time.Millisecond) }()
	testenv.WaitFor(t, "the first events published", time.Minute, func() bool { return countPending(t, db) == 0 })

	insertOutbox(t, db, 1000, 3000) // the crash may catch these in flight
	if err := broker.Kill(); err != nil {
		t.Fatal(err)
	}
	insertOutbox(t, db, 4000, 2000) // these are committed while the broker is down
	// A minute's outage, as the contract promises to survive: throughout it, what was committed stays pending.
	outageEnds := time.Now().Add(time.Minute)
	testenv.WaitFor(t, "a minute of broker outage", 2*time.Minute, func() bool {
		if pending := countPending(t, db); pending < 2000 {
			t.Fatalf("%d events pending while the broker is down; at least the 2000 committed since must be", pending)
		}
		return time.Now().After(outageEnds) && logs.Count("level=WARN") >= 2
	})
	if err := broker.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "everything published after the restart", 2*time.Minute, func() bool { return countPending(t, db) == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	records := readUnitTopics(t, []string{broker.Addr()}, prefix)
	assertRecordsMatchOutbox(t, db, records, prefix)
	duplicates := assertEveryEventPresent(t, records, 6000)
	t.Logf("%d records for 6000 events: %d re-sent after the crash; %d warnings", len(records), duplicates, logs.Count("level=WARN"))
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") && (!strings.Contains(line, broker.Addr()) || strings.Contains(line, "1380000")) {
			t.Fatalf("a warning must name the broker and carry no payload: %s", line)
		}
	}
}

// BenchmarkOutboxForward measures forwarding from PostgreSQL to the real broker, 50k events per iteration:
// unsigned (the reference) and signed with each algorithm, as the bridge always does.
func BenchmarkOutboxForward(b *testing.B) {
	b.Run("unsigned", func(b *testing.B) { benchmarkOutboxForward(b, "") })
	for _, algorithm := range signing.Algorithms {
		b.Run(algorithm, func(b *testing.B) { benchmarkOutboxForward(b, algorithm) })
	}
}

func benchmarkOutboxForward(b *testing.B, algorithm string) {
	const events = 50_000
	db := newBridgeDB(b)
	brokers := testenv.KafkaBrokers(b)
	fwd, prefix := newKafkaForwarder(b, db, brokers, io.Discard)
	if algorithm != "" {
		fwd = signedForwarder(b, db, brokers, prefix, algorithm)
	}
	var forwarded int
	var spent time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		insertOutbox(b, db, i*events, events)
		b.StartTimer()
		start := time.Now()
		n, err := fwd.Drain(context.Background())
		spent += time.Since(start)
		if err != nil || n != events {
			b.Fatalf("Drain = %d, %v; want %d", n, err, events)
		}
		forwarded += n
	}
	b.ReportMetric(float64(forwarded)/spent.Seconds(), "events/s")
}

func newBridgeDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return openBridgeDB(t, testenv.Postgres(t))
}

func openBridgeDB(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := postgres.Migrate(context.Background(), db, quiet()); err != nil {
		t.Fatal(err)
	}
	return db
}

func newKafkaForwarder(t testing.TB, db *pgxpool.Pool, brokers []string, logs io.Writer) (*distribute.Forwarder, string) {
	t.Helper()
	prefix := strings.TrimSuffix(testenv.TopicPrefix(t), ".")
	cfg := kafka.Config{Brokers: brokers, Version: "4.1.0", ClientID: "outbox-test", Partitions: 3, Replication: 1}
	sender, err := kafka.NewSender(cfg, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sender.Close() })
	log := slog.New(slog.NewTextHandler(logs, nil))
	fwd, err := distribute.NewForwarder(distribute.Config{MaxBackoff: time.Second}, postgres.NewOutbox(db), sender, log)
	if err != nil {
		t.Fatal(err)
	}
	return fwd, prefix
}

// signedForwarder forwards db's outbox to prefix's topics, signing as the bridge does with a stored key.
func signedForwarder(t testing.TB, db *pgxpool.Pool, brokers []string, prefix, algorithm string) *distribute.Forwarder {
	t.Helper()
	keys := postgres.NewSigningKeys(db)
	if _, _, err := keys.Ensure(context.Background(), algorithm); err != nil {
		t.Fatal(err)
	}
	cfg := kafka.Config{Brokers: brokers, Version: "4.1.0", ClientID: "outbox-test", Partitions: 3, Replication: 1}
	sender, err := kafka.NewSender(cfg, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sender.Close() })
	signer := distribute.NewEventSigner(keys, nil, kafka.NewKeyPublisher(cfg, prefix+".keys"))
	fwd, err := distribute.NewForwarder(distribute.Config{MaxBackoff: time.Second, Signer: signer}, postgres.NewOutbox(db), sender, quiet())
	if err != nil {
		t.Fatal(err)
	}
	return fwd
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// insertOutbox commits n events numbered from+1 onwards, spread over two units and broadcast, ten keys per unit.
func insertOutbox(t testing.TB, db execer, from, n int) {
	t.Helper()
	_, err := db.Exec(context.Background(), `INSERT INTO bridge.outbox
		(event_id, unit_code, event_type, table_name, row_id, record_key, row_time, payload)
		SELECT 'ev-' || g, u.unit, u.tbl || '.upserted', u.tbl, 'ROW-' || g, 'REG-' || (g % 10),
			timestamptz '2025-03-01 08:00:00+08' + g * interval '1.5 second',
			json_build_object('id', 'ROW-' || g, 'registration_id', 'REG-' || (g % 10), 'name', '张三',
				'phone', '1380000' || lpad(g::text, 4, '0'), 'address', repeat('武汉市江岸区', 8))::text
		FROM generate_series($1::int + 1, $1::int + $2::int) g,
			LATERAL (SELECT $3::text[] AS units) a,
			LATERAL (SELECT a.units[g % 3 + 1] AS unit,
				CASE WHEN g % 3 = 2 THEN 'dictionary' ELSE 'info_provider' END AS tbl) u
		ORDER BY g`, from, n, outboxUnits)
	if err != nil {
		t.Fatalf("insert outbox events: %v", err)
	}
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// outboxRow is an outbox row as the test checks it against what the broker holds.
type outboxRow struct {
	events.Distribution
	Published bool
	Partition *int32
	Offset    *int64
}

func outboxRows(t *testing.T, db *pgxpool.Pool) map[string]outboxRow {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT seq, event_id, unit_code, event_type, table_name, row_id,
		record_key, row_time, payload, published_at IS NOT NULL, kafka_partition, kafka_offset FROM bridge.outbox`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]outboxRow{}
	for rows.Next() {
		var r outboxRow
		d := &r.Distribution
		if err := rows.Scan(&d.Seq, &d.EventID, &d.Unit, &d.Type, &d.Table, &d.RowID, &d.Key, &d.RowTime, &d.Payload,
			&r.Published, &r.Partition, &r.Offset); err != nil {
			t.Fatal(err)
		}
		out[d.EventID] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// assertRecordsMatchOutbox checks every record against its outbox row, and that the row's recorded partition and
// offset hold a copy of it.
func assertRecordsMatchOutbox(t *testing.T, db *pgxpool.Pool, records []kafka.Record, prefix string) {
	t.Helper()
	rows := outboxRows(t, db)
	at := map[string]string{} // "topic/partition/offset" → ce_id
	for _, r := range records {
		row, ok := rows[r.Headers[events.HeaderID]]
		if !ok {
			t.Fatalf("record %s/%d@%d has ce_id %q, which is not in the outbox", r.Topic, r.Partition, r.Offset, r.Headers[events.HeaderID])
		}
		assertRecordIs(t, r, row.Distribution, prefix)
		at[fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)] = row.EventID
	}
	for id, row := range rows {
		if !row.Published || row.Partition == nil || row.Offset == nil {
			t.Fatalf("outbox event %s not marked published: %+v", id, row)
		}
		where := fmt.Sprintf("%s/%d/%d", events.UnitTopic(prefix, row.Unit), *row.Partition, *row.Offset)
		if at[where] != id {
			t.Fatalf("outbox event %s marked at %s, which holds %q", id, where, at[where])
		}
	}
	assertLastCopiesInSeqOrder(t, records, rows)
}

// assertLastCopiesInSeqOrder checks what a consumer applying "last delivery wins" sees: within each partition, the
// last copies of events come in outbox order. (After a failed send the whole batch goes again, so an earlier copy
// may sit before a later event.)
func assertLastCopiesInSeqOrder(t *testing.T, records []kafka.Record, rows map[string]outboxRow) {
	t.Helper()
	last := map[string]int64{} // ce_id → offset of its last copy; an event always lands in the same partition
	for _, r := range records {
		last[r.Headers[events.HeaderID]] = r.Offset
	}
	prev := map[string]int64{} // "topic/partition" → seq of the previous last copy
	for _, r := range records {
		id := r.Headers[events.HeaderID]
		if last[id] != r.Offset {
			continue
		}
		where, seq := fmt.Sprintf("%s/%d", r.Topic, r.Partition), rows[id].Seq
		if prev[where] > seq {
			t.Fatalf("%s: event %d last delivered after event %d", where, seq, prev[where])
		}
		prev[where] = seq
	}
}

func assertRecordIs(t *testing.T, r kafka.Record, d events.Distribution, prefix string) {
	t.Helper()
	h := r.Headers
	want := map[string]string{
		events.HeaderSpecVersion: "1.0", events.HeaderType: d.Type, events.HeaderSource: "/wuhan12315/hotline-bridge",
		events.HeaderSubject: d.RowID, events.HeaderTime: events.FormatTime(d.RowTime), events.HeaderContentType: "application/json",
	}
	for k, v := range want {
		if h[k] != v {
			t.Fatalf("event %d: header %s = %q, want %q", d.Seq, k, h[k], v)
		}
	}
	if r.Topic != events.UnitTopic(prefix, d.Unit) || r.Key != d.Key || !bytes.Equal(r.Value, d.Payload) || h[events.HeaderTraceParent] == "" {
		t.Fatalf("event %d arrived on %s with key %q, value %s, headers %v", d.Seq, r.Topic, r.Key, r.Value, h)
	}
}

func assertOneCopyEach(t *testing.T, records []kafka.Record, events int) {
	t.Helper()
	if dup := assertEveryEventPresent(t, records, events); dup != 0 {
		t.Fatalf("%d duplicates without any failure", dup)
	}
}

// assertEveryEventPresent returns how many records are extra copies.
func assertEveryEventPresent(t *testing.T, records []kafka.Record, events int) int {
	t.Helper()
	ids := map[string]bool{}
	for _, r := range records {
		ids[r.Headers["ce_id"]] = true
	}
	if len(ids) != events {
		t.Fatalf("%d distinct events on the broker, want %d", len(ids), events)
	}
	return len(records) - len(ids)
}

func countPending(t *testing.T, db *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// readUnitTopics reads every unit topic from the beginning to its current end.
func readUnitTopics(t *testing.T, brokers []string, prefix string) []kafka.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []kafka.Record
	collect := func(r kafka.Record) error { out = append(out, r); return nil }
	for _, unit := range outboxUnits {
		topic := events.UnitTopic(prefix, unit)
		if err := kafka.ReadTopic(ctx, brokers, topic, true, false, collect); err != nil || ctx.Err() != nil {
			t.Fatalf("read %s: %v", topic, errors.Join(err, ctx.Err()))
		}
	}
	return out
}
