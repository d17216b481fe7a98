package capture_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
)

// memSource is an upstream table whose rows become visible when their transaction "commits".
type memSource struct {
	mu      sync.Mutex
	now     time.Time
	rows    []events.RowVersion
	visible map[string]bool
	fail    error
}

func (s *memSource) put(id string, at time.Time, committed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = slices.DeleteFunc(s.rows, func(v events.RowVersion) bool { return v.ID == id })
	s.rows = append(s.rows, events.RowVersion{Table: "registration", ID: id, UpdateTime: at,
		Payload: fmt.Appendf(nil, `{"id":%q,"update_time":%q}`, id, events.FormatTime(at))})
	if s.visible == nil {
		s.visible = map[string]bool{}
	}
	s.visible[id] = committed
}

func (s *memSource) commit(id string) { s.mu.Lock(); s.visible[id] = true; s.mu.Unlock() }

func (s *memSource) ReadPage(_ context.Context, _ string, after capture.Position, limit int) ([]events.RowVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	var out []events.RowVersion
	for _, v := range s.rows {
		if s.visible[v.ID] && (after.IsZero() || after.Before(capture.PositionOf(v))) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return capture.PositionOf(out[i]).Before(capture.PositionOf(out[j])) })
	return out[:min(limit, len(out))], nil
}

func (s *memSource) Now(context.Context) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now, nil
}

type memWatermarks struct{ pos map[string]capture.Position }

func (w *memWatermarks) Load(_ context.Context, table string) (capture.Position, error) {
	return w.pos[table], nil
}
func (w *memWatermarks) Save(_ context.Context, table string, p capture.Position) error {
	w.pos[table] = p
	return nil
}

// memPublisher records the row ids of published envelopes; failAfter makes it fail once that many batches went
// through.
type memPublisher struct {
	ids       []string
	batches   int
	failAfter int
}

func (p *memPublisher) Publish(_ string, msgs ...*message.Message) error {
	if p.failAfter > 0 && p.batches >= p.failAfter {
		return errors.New("broker down")
	}
	p.batches++
	for _, m := range msgs {
		rows, err := capture.RowVersionsFromMessage(m)
		if err != nil {
			return err
		}
		for _, v := range rows {
			p.ids = append(p.ids, v.ID)
		}
	}
	return nil
}
func (p *memPublisher) Close() error { return nil }

var kind, _ = events.KindByTable(events.Registration)

func newPoller(src *memSource, wm *memWatermarks, pub *memPublisher, batch int) *capture.Poller {
	return capture.NewPoller(kind, capture.Config{TopicPrefix: "t", BatchSize: batch, MaxCommitDelay: 5 * time.Minute}, src, wm, pub)
}

func drain(t *testing.T, p *capture.Poller) {
	t.Helper()
	for range 100 {
		r, err := p.Poll(context.Background())
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if r.Published == 0 {
			return
		}
	}
	t.Fatal("poller never went idle")
}

func uniq(ids []string) []string { s := slices.Clone(ids); slices.Sort(s); return slices.Compact(s) }

func TestBatchBoundaryAndRestartAmongRowsSharingOneUpdateTime(t *testing.T) {
	base := time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)
	src := &memSource{now: base.Add(time.Hour)}
	for i := range 25 {
		src.put(fmt.Sprintf("R%03d", i), base, true)
	}
	wm := &memWatermarks{pos: map[string]capture.Position{}}
	// The broker fails after the first batch of 10: the process "dies" mid-timestamp.
	first := &memPublisher{failAfter: 1}
	if _, err := newPoller(src, wm, first, 10).Poll(context.Background()); err == nil {
		t.Fatal("expected the second batch to fail")
	}
	if got := wm.pos["registration"]; got.ID != "R009" {
		t.Fatalf("watermark after one published batch = %v, want R009", got)
	}
	second := &memPublisher{}
	drain(t, newPoller(src, wm, second, 10))
	all := uniq(append(first.ids, second.ids...))
	if len(all) != 25 {
		t.Fatalf("captured %d distinct rows, want 25: %v", len(all), all)
	}
	if len(second.ids) != 15 {
		t.Fatalf("restart republished %d rows, want exactly the 15 unpublished", len(second.ids))
	}
}

func TestLateCommitWithinMaxCommitDelayIsCaptured(t *testing.T) {
	now := time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)
	src := &memSource{now: now}
	src.put("early", now.Add(-4*time.Minute), false) // stamped early, its transaction still open
	src.put("later", now.Add(-time.Minute), true)
	pub := &memPublisher{}
	p := newPoller(src, &memWatermarks{pos: map[string]capture.Position{}}, pub, 10)
	drain(t, p)
	src.commit("early")
	src.mu.Lock()
	src.now = now.Add(30 * time.Second)
	src.mu.Unlock()
	drain(t, p)
	if !slices.Equal(pub.ids, []string{"later", "early"}) {
		t.Fatalf("published %v, want later then early exactly once each", pub.ids)
	}
}

func TestFreshRowsArePublishedOnceThenSettle(t *testing.T) {
	now := time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)
	src := &memSource{now: now}
	src.put("fresh", now.Add(-time.Minute), true)
	wm := &memWatermarks{pos: map[string]capture.Position{}}
	pub := &memPublisher{}
	p := newPoller(src, wm, pub, 10)
	drain(t, p)
	drain(t, p)
	if len(pub.ids) != 1 || !wm.pos["registration"].IsZero() {
		t.Fatalf("published %v with watermark %v; want one event and no settled position yet", pub.ids, wm.pos["registration"])
	}
	src.mu.Lock()
	src.now = now.Add(10 * time.Minute)
	src.mu.Unlock()
	drain(t, p)
	if got := wm.pos["registration"]; got.ID != "fresh" || len(pub.ids) != 1 {
		t.Fatalf("after settling: watermark %v, published %v", got, pub.ids)
	}
}

func TestEpochAndFutureRowsNeitherLostNorBlocking(t *testing.T) {
	now := time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)
	src := &memSource{now: now}
	src.put("epoch", time.Unix(0, 0).UTC(), true)
	src.put("future", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), true)
	src.put("normal", now.Add(-time.Hour), true)
	wm := &memWatermarks{pos: map[string]capture.Position{}}
	pub := &memPublisher{}
	p := newPoller(src, wm, pub, 2)
	drain(t, p)
	src.put("after", now.Add(-10*time.Minute), true) // written after the future row was seen
	drain(t, p)
	if !slices.Equal(pub.ids, []string{"epoch", "normal", "future", "after"}) {
		t.Fatalf("published %v", pub.ids)
	}
	if got := wm.pos["registration"]; got.ID != "after" {
		t.Fatalf("watermark %v must stop before the future row", got)
	}
}

func TestUpstreamErrorKeepsDurableWatermark(t *testing.T) {
	now := time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)
	src := &memSource{now: now, fail: errors.New("connection refused")}
	src.put("a", now.Add(-time.Hour), true)
	wm := &memWatermarks{pos: map[string]capture.Position{}}
	pub := &memPublisher{}
	p := newPoller(src, wm, pub, 10)
	_, err := p.Poll(context.Background())
	if err == nil || !errors.Is(err, src.fail) {
		t.Fatalf("poll error = %v, want the upstream error wrapped", err)
	}
	src.fail = nil
	drain(t, p)
	if !slices.Equal(pub.ids, []string{"a"}) {
		t.Fatalf("published %v after recovery", pub.ids)
	}
}

// envelopePublisher keeps the envelopes themselves.
type envelopePublisher struct{ msgs []*message.Message }

func (p *envelopePublisher) Publish(_ string, msgs ...*message.Message) error {
	p.msgs = append(p.msgs, msgs...)
	return nil
}
func (p *envelopePublisher) Close() error { return nil }

// A page goes out as envelopes, one group per partition: every row is in an envelope keyed to the partition its
// own id hashes to, in update_time order, and no envelope passes the row or size bound.
func TestPageGoesOutAsEnvelopesPerPartitionInOrder(t *testing.T) {
	src, wm, pub := &memSource{now: time.Now()}, &memWatermarks{pos: map[string]capture.Position{}}, &envelopePublisher{}
	base := time.Now().Add(-time.Hour)
	for i := range 2500 {
		src.put(fmt.Sprintf("R%05d", i), base.Add(time.Duration(i)*time.Millisecond), true)
	}
	const partitions = 3
	p := capture.NewPoller(kind, capture.Config{TopicPrefix: "t", BatchSize: 5000, Partitions: partitions, MaxCommitDelay: time.Minute}, src, wm, pub)
	if _, err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen, last := map[string]bool{}, map[int]time.Time{}
	for _, m := range pub.msgs {
		rows, err := capture.RowVersionsFromMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) > 1000 {
			t.Errorf("an envelope of %d rows, over the bound of 1000", len(rows))
		}
		part := events.PartitionOf(m.Metadata.Get(events.MetaKey), partitions)
		for _, v := range rows {
			if got := events.PartitionOf(v.ID, partitions); got != part {
				t.Errorf("row %s hashes to partition %d but travels in an envelope for %d", v.ID, got, part)
			}
			if v.UpdateTime.Before(last[part]) {
				t.Errorf("row %s comes after a newer row of partition %d", v.ID, part)
			}
			last[part], seen[v.ID] = v.UpdateTime, true
		}
	}
	if len(seen) != 2500 || len(pub.msgs) < partitions {
		t.Errorf("%d distinct rows in %d envelopes, want all 2500 in at least %d", len(seen), len(pub.msgs), partitions)
	}
}
