package pipeline_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/events"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
)

// The download log accounts for every upstream row, page by page with watermarks that chain to the durable one,
// and the distribution log for every outbox event, with the offsets the outbox recorded; `bridge logs` prints
// both as a line per hour and entry by entry, as text, JSON lines and CSV.
func TestTransferLogsAccountForEveryRowAndEvent(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	ctx := context.Background()
	if _, err := seed.Generate(ctx, e.upstream, seed.Options{Registrations: 400, WuhanShare: 0.3, Seed: 21}); err != nil {
		t.Fatal(err)
	}
	e.cfg.BatchSize = 150 // several pages a table
	e.runUntilIdle(t)
	store := storeQuerier(t, e)

	upstreamRows := map[string]int{}
	total := 0
	for _, k := range events.Catalogue {
		var n int
		if err := e.upstream.QueryRow(ctx, `SELECT count(*) FROM `+k.Table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		upstreamRows[k.Table], total = n, total+n
	}
	assertDownloadLogChains(t, store, upstreamRows)
	assertDistributionLogMatchesOutbox(t, store, e.cfg.TopicPrefix)

	// A line per hour (one or two: the run may straddle an hour) summing to every upstream row.
	out := runLogs(t, e, pipeline.LogsOptions{Log: pipeline.DownloadLog})
	t.Logf("bridge logs download:\n%s", out)
	t.Logf("bridge logs download --detail --table subject:\n%s", runLogs(t, e, pipeline.LogsOptions{Log: pipeline.DownloadLog, Table: events.Subject, Detail: true}))
	t.Logf("bridge logs distribution --detail --unit 420106:\n%s", runLogs(t, e, pipeline.LogsOptions{Log: pipeline.DistributionLog, Unit: "420106", Detail: true}))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "hour pages rows_read rows_published errors duration_ms" {
		t.Fatalf("summary header %q in\n%s", got, out)
	}
	read, published := 0, 0
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		read, published = read+atoi(t, f[2]), published+atoi(t, f[3])
		if f[4] != "0" {
			t.Errorf("summary line %q counts errors in a run without any", line)
		}
	}
	if len(lines) < 2 || len(lines) > 3 || read != total || published != total {
		t.Fatalf("summary reads %d and publishes %d rows in %d hours, want %d each in one or two:\n%s", read, published, len(lines)-1, total, out)
	}

	// Every page of one table as JSON lines: the first starts at the beginning, and they sum to the table.
	out = runLogs(t, e, pipeline.LogsOptions{Log: pipeline.DownloadLog, Table: events.Registration, Detail: true, JSON: true, Since: "2000-01-01"})
	var pages []map[string]any
	for line := range strings.Lines(out) {
		var p map[string]any
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		pages = append(pages, p)
	}
	sum := 0.0
	for _, p := range pages {
		if p["table"] != events.Registration || p["error"] != nil || p["to_id"] == nil {
			t.Errorf("registration page %v", p)
		}
		sum += p["rows_read"].(float64)
	}
	if len(pages) < 2 || pages[0]["from_time"] != nil || pages[0]["from_id"] != nil || int(sum) != upstreamRows[events.Registration] {
		t.Fatalf("%d registration pages reading %v rows, the first from %v; want several from the beginning reading %d:\n%s",
			len(pages), sum, pages[0]["from_id"], upstreamRows[events.Registration], out)
	}

	// Every batch of one unit as CSV, summing to the unit's outbox events.
	out = runLogs(t, e, pipeline.LogsOptions{Log: pipeline.DistributionLog, Unit: "420106", Detail: true, CSV: true})
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("CSV %q: %v", out, err)
	}
	wantHeader := "started_at,unit,topic,partition,first_offset,last_offset,events,first_seq,duration_ms,error"
	if len(records) < 2 || strings.Join(records[0], ",") != wantHeader {
		t.Fatalf("CSV header %v (of %d records), want %s", records[0], len(records), wantHeader)
	}
	events420106 := 0
	for _, r := range records[1:] {
		if r[1] != "420106" || r[2] != e.cfg.TopicPrefix+".420106" || r[9] != "" {
			t.Errorf("CSV record %v", r)
		}
		events420106 += atoi(t, r[6])
	}
	if want := store.count(t, `SELECT count(*) FROM bridge.outbox WHERE unit_code = '420106'`); events420106 != want || want == 0 {
		t.Fatalf("CSV sums to %d events of 420106, the outbox holds %d", events420106, want)
	}

	// The hourly summary of the distribution log as JSON.
	out = runLogs(t, e, pipeline.LogsOptions{Log: pipeline.DistributionLog, JSON: true})
	sent := 0.0
	for line := range strings.Lines(out) {
		var h map[string]any
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		if keys := slices.Sorted(maps.Keys(h)); strings.Join(keys, ",") != "batches,duration_ms,errors,events,hour" || h["errors"] != 0.0 {
			t.Errorf("summary line %v", h)
		}
		sent += h["events"].(float64)
	}
	if want := store.count(t, `SELECT count(*) FROM bridge.outbox`); int(sent) != want {
		t.Fatalf("the distribution summary counts %v events, the outbox holds %d", sent, want)
	}
}

// assertDownloadLogChains checks every table's pages: they read and published every upstream row once, and each
// starts where the last left the watermark, from the beginning to the durable watermark.
func assertDownloadLogChains(t *testing.T, store storeDB, upstreamRows map[string]int) {
	t.Helper()
	rows, err := store.db.Query(context.Background(), `SELECT table_name, rows_read, rows_published,
			coalesce(from_time::text || ' ' || from_id, ''), coalesce(to_time::text || ' ' || to_id, ''), coalesce(error, '')
		FROM bridge.download_log ORDER BY table_name, seq`)
	if err != nil {
		t.Fatal(err)
	}
	type page struct {
		Table          string
		Read, Pub      int
		From, To, Fail string
	}
	pages, err := pgx.CollectRows(rows, pgx.RowToStructByPos[page])
	if err != nil {
		t.Fatal(err)
	}
	read, published, at := map[string]int{}, map[string]int{}, map[string]string{}
	for _, p := range pages {
		if p.Fail != "" || p.From != at[p.Table] {
			t.Errorf("%s page from %q (error %q); the previous one left the watermark at %q", p.Table, p.From, p.Fail, at[p.Table])
		}
		read[p.Table] += p.Read
		published[p.Table] += p.Pub
		at[p.Table] = p.To
	}
	for table, n := range upstreamRows {
		var durable string
		if err := store.db.QueryRow(context.Background(), `SELECT update_time::text || ' ' || row_id FROM bridge.capture_watermark
			WHERE table_name = $1`, table).Scan(&durable); err != nil {
			t.Fatalf("watermark of %s: %v", table, err)
		}
		if read[table] != n || published[table] != n || at[table] != durable {
			t.Errorf("%s: the download log reads %d and publishes %d rows up to %q; upstream has %d, the watermark is at %q",
				table, read[table], published[table], at[table], n, durable)
		}
	}
}

// assertDistributionLogMatchesOutbox checks the distribution log per unit and partition against the outbox marks:
// the same events, the same first and last offsets, on the unit's topic.
func assertDistributionLogMatchesOutbox(t *testing.T, store storeDB, prefix string) {
	t.Helper()
	logged := store.strings(t, `SELECT format('%s/%s: %s events, offsets %s..%s', unit_code, kafka_partition, sum(events), min(first_offset), max(last_offset))
		FROM bridge.distribution_log WHERE error IS NULL GROUP BY unit_code, kafka_partition ORDER BY 1`)
	marked := store.strings(t, `SELECT format('%s/%s: %s events, offsets %s..%s', unit_code, kafka_partition, count(*), min(kafka_offset), max(kafka_offset))
		FROM bridge.outbox GROUP BY unit_code, kafka_partition ORDER BY 1`)
	if len(marked) < 5 || !slices.Equal(logged, marked) {
		t.Errorf("distribution log per unit partition:\n%s\noutbox marks:\n%s", strings.Join(logged, "\n"), strings.Join(marked, "\n"))
	}
	if n := store.count(t, fmt.Sprintf(`SELECT count(*) FROM bridge.distribution_log WHERE topic IS DISTINCT FROM '%s.' || unit_code OR error IS NOT NULL`, prefix)); n != 0 {
		t.Errorf("%d distribution log entries off their unit's topic or failed, in a run without failures", n)
	}
}

func runLogs(t *testing.T, e *bridgeEnv, opts pipeline.LogsOptions) string {
	t.Helper()
	var out bytes.Buffer
	if err := pipeline.Logs(context.Background(), e.cfg, &out, opts); err != nil {
		t.Fatalf("bridge logs %+v: %v", opts, err)
	}
	return out.String()
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a count: %v", s, err)
	}
	return n
}

// bridge logs reports every bad flag at once, before it connects to anything.
func TestLogsReportsEveryBadFlagAtOnce(t *testing.T) {
	t.Parallel()
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.StoreURL = "postgres://bridge@127.0.0.1:1/none"
	err = pipeline.Logs(context.Background(), cfg, &bytes.Buffer{}, pipeline.LogsOptions{
		Log: "downloads", Table: "complaints", Unit: "420199", JSON: true, CSV: true, Since: "yesterday", Until: "-3d",
	})
	for _, want := range []string{
		`say which log: download or distribution, got "downloads"`,
		`--table "complaints" is not one of the twelve kinds (organization,`,
		`--unit "420199" is not a unit code (420102,`,
		"--json and --csv exclude each other",
		`--since: "yesterday" is neither RFC 3339`,
		`--until: "-3d" is neither`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	err = pipeline.Logs(context.Background(), cfg, &bytes.Buffer{}, pipeline.LogsOptions{
		Log: pipeline.DistributionLog, Table: events.Registration, Since: "2026-12-02", Until: "2026-12-01T00:00:00+08:00",
	})
	for _, want := range []string{"--table selects download log entries", "--since 2026-12-02T00:00:00"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
}
