package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"hotline-bridge/events"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
)

// Personal data (names, phones, ID numbers, addresses) stays in the store and on the unit topics. A seeded
// pipeline with changes and bad rows runs with every log line kept at debug level and every span exported; then
// the audit trail, the download and distribution logs, the log lines and the spans are searched for every
// personal value the upstream holds.
func TestNoPersonalDataInTheAuditTrailTheTransferLogsTheLogsOrTheSpans(t *testing.T) {
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	ctx := context.Background()
	if _, err := seed.Generate(ctx, e.upstream, seed.Options{Registrations: 600, WuhanShare: 0.3, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(tp) // the bridge exports nothing itself without OTEL_* set: it uses this one
	t.Cleanup(func() { otel.SetTracerProvider(previous); _ = tp.Shutdown(context.Background()) })
	logs := &testenv.SyncBuffer{}
	run := func() {
		runCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		if err := pipeline.Run(runCtx, e.cfg, pipeline.NewLoggerAs(logs, "debug", "json", false), true); err != nil {
			t.Fatalf("bridge run --until-idle: %v", err)
		}
	}
	run()
	if _, err := seed.Change(ctx, e.upstream, seed.ChangeOptions{Seed: 11, Rounds: 3, BatchSize: 60, Interval: -1}); err != nil {
		t.Fatal(err)
	}
	// A bad row of a Wuhan work order, full of personal data: its quarantine reason, hops and log lines must not
	// repeat any of it.
	store := storeQuerier(t, e)
	wuhanReg := store.strings(t, `SELECT id FROM wuhan.registration ORDER BY id LIMIT 1`)
	if len(wuhanReg) == 0 {
		t.Fatal("no Wuhan registration in the store")
	}
	e.exec(t, `INSERT INTO info_provider (id, update_time, registration_id, name, phone, id_card_no, address)
		VALUES ('IP-BAD', now(), $1, '欧阳测试', '13912345678', '420106199001011234', repeat('武昌区中北路', 3000))`, wuhanReg[0])
	run()

	personal := personalValues(t, e)
	places := map[string][]string{
		"the audit trail":        store.strings(t, `SELECT h::text FROM bridge.audit_hop h`),
		"the download log":       store.strings(t, `SELECT d::text FROM bridge.download_log d`),
		"the distribution log":   store.strings(t, `SELECT d::text FROM bridge.distribution_log d`),
		"the quarantine reasons": store.strings(t, `SELECT reason FROM bridge.quarantine`),
		"the logs":               strings.Split(logs.String(), "\n"),
		"the spans":              spanTexts(spans.GetSpans()),
	}
	for place, lines := range places {
		if len(lines) < 1 {
			t.Fatalf("%s holds %d entries: the scan would prove nothing", place, len(lines))
		}
		assertNoneOf(t, place, lines, personal)
	}
	t.Logf("searched %d personal values in %d audit hops, %d download and %d distribution log entries, %d log lines and %d spans",
		len(personal), len(places["the audit trail"]), len(places["the download log"]), len(places["the distribution log"]), len(places["the logs"]), len(places["the spans"]))
}

// spanTexts renders each exported span whole: its name, attributes, events, links and status.
func spanTexts(spans tracetest.SpanStubs) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = fmt.Sprintf("%s %v %v %v %s %s", s.Name, s.Attributes, s.Events, s.Links, s.Status.Description, s.Resource)
	}
	return out
}

// personalValues are the distinct values of every personal column upstream (events.Kind.Personal).
func personalValues(t *testing.T, e *bridgeEnv) []string {
	t.Helper()
	var values []string
	for _, k := range events.Catalogue {
		for _, col := range k.Personal {
			rows, err := e.upstream.Query(context.Background(), `SELECT DISTINCT `+pgx.Identifier{col}.Sanitize()+` FROM `+
				pgx.Identifier{k.Table}.Sanitize()+` WHERE length(`+pgx.Identifier{col}.Sanitize()+`) >= 2`)
			if err != nil {
				t.Fatal(err)
			}
			vs, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			values = append(values, vs...)
		}
	}
	if len(values) < 100 {
		t.Fatalf("only %d personal values upstream: the seed did not exercise the scan", len(values))
	}
	return values
}

func assertNoneOf(t *testing.T, place string, lines, personal []string) {
	t.Helper()
	for _, line := range lines {
		for _, v := range personal {
			if strings.Contains(line, truncate(v)) {
				t.Errorf("%s holds the personal value %q: %.300s", place, v, line)
				return
			}
		}
	}
}

// truncate keeps the start of a long value (an address): a text that quotes part of it leaks it too.
func truncate(v string) string {
	if r := []rune(v); len(r) > 12 {
		return string(r[:12])
	}
	return v
}
