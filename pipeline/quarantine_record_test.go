package pipeline

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/metrics"
	"hotline-bridge/infra/postgres"
)

// A quarantine record comes again when its capture record was sorted twice (a rebalance redelivers it): the row
// is kept once and bridge_quarantined_total counts it once.
func TestQuarantineRecorderCountsARedeliveredRecordOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	log := NewLogger(io.Discard, "error")
	if err := postgres.Migrate(ctx, db, log); err != nil {
		t.Fatal(err)
	}
	if err := postgres.EnsureStore(ctx, db, "wuhan"); err != nil {
		t.Fatal(err)
	}
	store, err := postgres.NewStore(ctx, db, "wuhan")
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	record := recordQuarantine(store, m, log)
	bad := events.RowVersion{Table: events.Registration, ID: "R-BAD", UpdateTime: time.Now().UTC().Truncate(time.Microsecond),
		Payload: []byte(`{"id":"R-BAD","division_code":"42A106"}`)}
	for range 3 {
		msg := capture.NewEnvelopeMessage(bad.Table, []events.RowVersion{bad})
		msg.Metadata.Set(middleware.ReasonForPoisonedKey, "division_code 42A106 is not a division code")
		if err := record(msg); err != nil {
			t.Fatal(err)
		}
	}
	var kept int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM bridge.quarantine WHERE row_id = 'R-BAD'`).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if kept != 1 {
		t.Errorf("bridge.quarantine holds R-BAD %d times, want once", kept)
	}
	rec := httptest.NewRecorder()
	m.Handler(log).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := `bridge_quarantined_total{table="registration"} 1`
	if !strings.Contains(rec.Body.String(), want+"\n") {
		t.Errorf("/metrics does not say %s:\n%s", want, grepLines(rec.Body.String(), "bridge_quarantined_total"))
	}
}

func grepLines(text, substr string) string {
	var out []string
	for line := range strings.Lines(text) {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
