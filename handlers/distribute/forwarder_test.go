package distribute_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/distribute"
)

func newForwarder(t *testing.T, o *memOutbox, b *memBroker, logs *recorder) *distribute.Forwarder {
	t.Helper()
	cfg := distribute.Config{BatchSize: 1000, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}
	f, err := distribute.NewForwarder(cfg, o, b, slog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestForwarderPublishesInOutboxOrderAndMarksEach(t *testing.T) {
	o, b := newMemOutbox(), &memBroker{}
	o.add(2500)
	f := newForwarder(t, o, b, &recorder{})

	n, err := f.Drain(context.Background())
	if err != nil || n != 2500 {
		t.Fatalf("Drain = %d, %v; want 2500", n, err)
	}
	got := b.deliveries()
	for i, d := range got {
		if d.Event.Seq != int64(i+1) {
			t.Fatalf("delivery %d is outbox event %d: not in seq order", i, d.Event.Seq)
		}
		if mark := o.marks[d.Event.Seq]; mark.Offset != d.Offset || o.markCount[d.Event.Seq] != 1 {
			t.Fatalf("event %d stored at offset %d, marked %+v %d times", d.Event.Seq, d.Offset, mark, o.markCount[d.Event.Seq])
		}
	}
	if len(got) != 2500 {
		t.Fatalf("%d deliveries, want 2500", len(got))
	}
	if n, err := f.Drain(context.Background()); n != 0 || err != nil || len(b.deliveries()) != 2500 {
		t.Fatalf("second Drain = %d, %v with %d deliveries; want nothing sent again", n, err, len(b.deliveries()))
	}
}

// Every published event leaves one published hop, committed with its mark, naming where it landed.
func TestForwarderRecordsAPublishedHopPerEventWithItsMark(t *testing.T) {
	o, b := newMemOutbox(), &memBroker{failures: []int{400}}
	o.add(1500)
	f := newForwarder(t, o, b, &recorder{})
	if _, err := f.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(o.hops) != 1500 {
		t.Fatalf("%d published hops for 1500 events (one send failed half-way): want one each", len(o.hops))
	}
	for i, h := range o.hops {
		d := o.rows[i]
		mark := o.marks[d.Seq]
		if h.Hop != events.HopPublished || h.CeID != d.EventID || h.Table != d.Table || h.RowID != d.RowID ||
			h.Unit != d.Unit || !h.Version.Equal(d.RowTime) || h.Offset == nil || *h.Offset != mark.Offset ||
			h.Partition == nil || *h.Partition != mark.Partition || h.Detail == nil || h.Detail.Event != d.Type {
			t.Fatalf("hop %d = %+v, want the published hop of %+v marked %+v", i, h, d, mark)
		}
	}
}

func TestForwarderResendsAfterFailedSendsWithoutLoss(t *testing.T) {
	o := newMemOutbox()
	o.add(2500)
	// The first attempt fails after 400 events reached the broker, the next before any did, a later one after 999.
	b := &memBroker{failures: []int{400, 0, 999}}
	logs := &recorder{}
	f := newForwarder(t, o, b, logs)

	n, err := f.Drain(context.Background())
	if err != nil || n != 2500 {
		t.Fatalf("Drain = %d, %v; want 2500", n, err)
	}
	got := b.deliveries()
	if len(got) != 2500+400+999 {
		t.Fatalf("%d deliveries, want 2500 plus the 1399 that reached the broker in failed attempts", len(got))
	}
	assertOnlyResends(t, o, got)
	assertLastDeliveriesInSeqOrderPerKey(t, got)
	assertEachMarkedOnceAtLastDelivery(t, o, got)

	warnings := logs.at(slog.LevelWarn)
	if len(warnings) != 3 {
		t.Fatalf("%d warnings for 3 failures: %q", len(warnings), warnings)
	}
	for _, w := range warnings {
		if !strings.Contains(w, "broker.example:9092") || strings.Contains(w, "1380000") {
			t.Fatalf("warning must name the broker and carry no payload: %s", w)
		}
	}
	if infos := logs.at(slog.LevelInfo); len(infos) != 1 || !strings.Contains(infos[0], "failed_attempts=3") {
		t.Fatalf("want one recovery report after the three failures in a row, got %q", infos)
	}
}

// assertOnlyResends checks that every outbox event arrived and that every delivery is an exact copy of an outbox
// event: a duplicate is a re-send under the same ce_id, never a different event.
func assertOnlyResends(t *testing.T, o *memOutbox, got []delivery) {
	t.Helper()
	byID := map[string]events.Distribution{}
	for _, d := range o.rows {
		byID[d.EventID] = d
	}
	seen := map[string]bool{}
	for _, d := range got {
		if want, ok := byID[d.Event.EventID]; !ok || !reflect.DeepEqual(want, d.Event) {
			t.Fatalf("delivery %+v is not a copy of outbox event %+v", d.Event, want)
		}
		seen[d.Event.EventID] = true
	}
	if len(seen) != len(byID) {
		t.Fatalf("%d of %d outbox events reached the broker", len(seen), len(byID))
	}
}

// assertLastDeliveriesInSeqOrderPerKey checks what a consumer applying "last delivery wins" sees: for every key,
// each event's last copy comes after the last copy of every earlier event of that key.
func assertLastDeliveriesInSeqOrderPerKey(t *testing.T, got []delivery) {
	t.Helper()
	last := map[int64]int{}
	for i, d := range got {
		last[d.Event.Seq] = i
	}
	prev := map[string]int64{} // key → seq of the previous last copy, walking last copies in log order
	for i, d := range got {
		if last[d.Event.Seq] != i {
			continue
		}
		if p, ok := prev[d.Event.Key]; ok && p > d.Event.Seq {
			t.Fatalf("key %s: event %d last delivered after event %d", d.Event.Key, p, d.Event.Seq)
		}
		prev[d.Event.Key] = d.Event.Seq
	}
}

func assertEachMarkedOnceAtLastDelivery(t *testing.T, o *memOutbox, got []delivery) {
	t.Helper()
	last := map[int64]delivery{}
	for _, d := range got {
		last[d.Event.Seq] = d
	}
	for _, d := range o.rows {
		if o.markCount[d.Seq] != 1 || o.marks[d.Seq].Offset != last[d.Seq].Offset {
			t.Fatalf("event %d marked %d times at %+v; its acknowledged copy is at offset %d",
				d.Seq, o.markCount[d.Seq], o.marks[d.Seq], last[d.Seq].Offset)
		}
	}
}

func TestForwarderSendsAgainWhenMarkingFails(t *testing.T) {
	o, b := newMemOutbox(), &memBroker{}
	o.add(1500)
	o.failMarks = 1
	logs := &recorder{}
	f := newForwarder(t, o, b, logs)

	n, err := f.Drain(context.Background())
	if err != nil || n != 1500 {
		t.Fatalf("Drain = %d, %v; want 1500", n, err)
	}
	got := b.deliveries()
	if len(got) != 1000+1500 {
		t.Fatalf("%d deliveries; want the first batch twice and the rest once", len(got))
	}
	assertOnlyResends(t, o, got)
	assertEachMarkedOnceAtLastDelivery(t, o, got)
	if w := logs.at(slog.LevelWarn); len(w) != 1 || !strings.Contains(w[0], "db.example:5432") {
		t.Fatalf("want one warning naming the database, got %q", w)
	}
}

func TestForwarderNeverMarksWhatWasNotAcknowledged(t *testing.T) {
	o, b := newMemOutbox(), &memBroker{short: true}
	o.add(10)
	f := newForwarder(t, o, b, &recorder{})

	n, err := f.Forward(context.Background())
	if err == nil || !strings.Contains(err.Error(), "acknowledged 9 of 10") {
		t.Fatalf("Forward = %d, %v; want the short acknowledgement refused", n, err)
	}
	if n != 0 || o.unpublished() != 10 {
		t.Fatalf("forwarded %d, %d unpublished; want nothing marked", n, o.unpublished())
	}
}

func TestForwarderRunPicksUpNewEvents(t *testing.T) {
	o, b := newMemOutbox(), &memBroker{sent: make(chan int, 16)}
	f := newForwarder(t, o, b, &recorder{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, 5*time.Millisecond) }()

	o.add(10)
	waitSent(t, b, 10)
	o.add(1005)
	waitSent(t, b, 1005)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v after cancellation; want nil", err)
	}
	got := b.deliveries()
	if len(got) != 1015 || got[0].Event.Seq != 1 || got[1014].Event.Seq != 1015 || o.unpublished() != 0 {
		t.Fatalf("%d deliveries from %d to %d, %d unpublished", len(got), got[0].Event.Seq, got[len(got)-1].Event.Seq, o.unpublished())
	}
}

// waitSent waits until successful sends have carried n more events.
func waitSent(t *testing.T, b *memBroker, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for n > 0 {
		select {
		case k := <-b.sent:
			n -= k
		case <-timeout:
			t.Fatalf("still waiting for %d events to be sent", n)
		}
	}
}

func TestForwarderDrainGivesUpWhenContextEnds(t *testing.T) {
	o := newMemOutbox()
	o.add(3)
	b := &memBroker{failures: make([]int, 1000)}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &recorder{onWarn: cancel} // the broker is down; the caller gives up after the first report
	f := newForwarder(t, o, b, logs)

	n, err := f.Drain(ctx)
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("Drain = %d, %v; want 0, context.Canceled", n, err)
	}
	if o.unpublished() != 3 || len(logs.at(slog.LevelWarn)) != 1 {
		t.Fatalf("%d unpublished, warnings %q", o.unpublished(), logs.at(slog.LevelWarn))
	}
}

func TestNewForwarderReportsEveryConfigProblem(t *testing.T) {
	cfg := distribute.Config{BatchSize: -1, MinBackoff: 2 * time.Second, MaxBackoff: time.Second}
	_, err := distribute.NewForwarder(cfg, newMemOutbox(), &memBroker{}, slog.New(&recorder{}))
	if err == nil || !strings.Contains(err.Error(), "batch size") || !strings.Contains(err.Error(), "backoff") {
		t.Fatalf("got %v; want both the batch size and the backoff reported", err)
	}
}

// recorder is a slog.Handler keeping each record as one line of text.
type recorder struct {
	mu     sync.Mutex
	lines  map[slog.Level][]string
	onWarn func()
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		line += fmt.Sprintf(" %s=%v", a.Key, a.Value)
		return true
	})
	r.mu.Lock()
	if r.lines == nil {
		r.lines = map[slog.Level][]string{}
	}
	r.lines[rec.Level] = append(r.lines[rec.Level], line)
	r.mu.Unlock()
	if rec.Level == slog.LevelWarn && r.onWarn != nil {
		r.onWarn()
	}
	return nil
}

func (r *recorder) at(level slog.Level) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lines[level]
}
