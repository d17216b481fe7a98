package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/postgres"
)

// A send that fails while the broker is down leaves an entry per unit with the error and no offsets; once the
// broker is back, the same batch is logged with where it landed, matching the outbox marks.
func TestDistributionLogRecordsAFailedSendAndItsRetry(t *testing.T) {
	ctx := context.Background()
	broker := testenv.OwnKafka(t)
	db := newBridgeDB(t)
	fwd, prefix := newKafkaForwarder(t, db, []string{broker.Addr()}, &testenv.SyncBuffer{})
	insertOutbox(t, db, 0, 300)
	if n, err := fwd.Drain(ctx); err != nil || n != 300 {
		t.Fatalf("Drain = %d, %v; want 300", n, err)
	}
	if err := broker.Kill(); err != nil {
		t.Fatal(err)
	}
	insertOutbox(t, db, 300, 300)
	if _, err := fwd.Forward(ctx); err == nil {
		t.Fatal("a send to the dead broker succeeded")
	}
	failed := logLines(t, db, `SELECT format('%s %s events from seq %s, partition %s, offsets %s..%s', unit_code, events, first_seq,
			coalesce(kafka_partition::text, '-'), coalesce(first_offset::text, '-'), coalesce(last_offset::text, '-'))
		FROM bridge.distribution_log WHERE error IS NOT NULL ORDER BY 1`)
	if got := strings.Join(failed, "; "); got != "420102 100 events from seq 301, partition -, offsets -..-; "+
		"420106 100 events from seq 301, partition -, offsets -..-; broadcast 100 events from seq 301, partition -, offsets -..-" {
		t.Fatalf("failed send logged as %s", got)
	}
	for _, text := range logLines(t, db, `SELECT error FROM bridge.distribution_log WHERE error IS NOT NULL`) {
		if !strings.Contains(text, broker.Addr()) || strings.Contains(text, "1380000") || strings.Contains(text, "张三") {
			t.Fatalf("logged error %q: it must name the broker and carry no payload", text)
		}
	}
	if err := broker.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := fwd.Drain(ctx); err != nil || n != 300 {
		t.Fatalf("Drain after the restart = %d, %v; want 300", n, err)
	}
	logged := logLines(t, db, `SELECT format('%s/%s: %s..%s', unit_code, kafka_partition, min(first_offset), max(last_offset))
		FROM bridge.distribution_log WHERE error IS NULL AND topic = $1 || '.' || unit_code GROUP BY unit_code, kafka_partition ORDER BY 1`, prefix)
	marked := logLines(t, db, `SELECT format('%s/%s: %s..%s', unit_code, kafka_partition, min(kafka_offset), max(kafka_offset))
		FROM bridge.outbox GROUP BY unit_code, kafka_partition ORDER BY 1`)
	if len(marked) < 3 || strings.Join(logged, "\n") != strings.Join(marked, "\n") {
		t.Fatalf("distribution log offsets:\n%s\noutbox marks:\n%s", strings.Join(logged, "\n"), strings.Join(marked, "\n"))
	}
}

// Pruning deletes the entries of both logs that started before the retention, and only those.
func TestPruneTransferLogsKeepsTheRetention(t *testing.T) {
	ctx := context.Background()
	db := newBridgeDB(t)
	_, err := db.Exec(ctx, `
		INSERT INTO bridge.download_log (table_name, started_at, finished_at, rows_read, rows_published)
		SELECT 'subject', now() - d * interval '1 day', now() - d * interval '1 day', 1, 1 FROM unnest(ARRAY[1, 179, 181, 400]) d;
		INSERT INTO bridge.distribution_log (started_at, finished_at, unit_code, events, first_seq)
		SELECT now() - d * interval '1 day', now() - d * interval '1 day', '420106', 1, d FROM unnest(ARRAY[2, 181]) d`)
	if err != nil {
		t.Fatal(err)
	}
	pruned, err := postgres.NewTransferLog(db).PruneTransferLogs(ctx, 180*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	left := logLines(t, db, `SELECT 'download ' || extract(day FROM now() - started_at) FROM bridge.download_log
		UNION ALL SELECT 'distribution ' || extract(day FROM now() - started_at) FROM bridge.distribution_log ORDER BY 1`)
	if pruned != 3 || strings.Join(left, ", ") != "distribution 2, download 1, download 179" {
		t.Fatalf("pruned %d, left %v; want 3 pruned and the entries of the last 180 days left", pruned, left)
	}
}

func logLines(t *testing.T, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, sql string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}
