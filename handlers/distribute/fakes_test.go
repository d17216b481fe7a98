package distribute_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/distribute"
)

// memOutbox is an outbox in memory. Apply holds a lock for the whole transaction, as the Postgres adapter holds
// its advisory lock, and applies marks only when fn succeeds.
type memOutbox struct {
	mu        sync.Mutex // the forwarding claim
	rowsMu    sync.Mutex // guards rows and marks against concurrent inserts
	rows      []events.Distribution
	marks     map[int64]distribute.Published
	markCount map[int64]int
	hops      []events.Hop       // committed with the marks
	failMarks int                // MarkPublished fails this many more times
	sentLog   []distribute.Batch // the distribution log's committed entries
	failedLog []distribute.Batch
}

func newMemOutbox() *memOutbox {
	return &memOutbox{marks: map[int64]distribute.Published{}, markCount: map[int64]int{}}
}

// add commits n events to the outbox, spread over units and a few keys per unit.
func (o *memOutbox) add(n int) {
	o.rowsMu.Lock()
	defer o.rowsMu.Unlock()
	for range n {
		seq := int64(len(o.rows) + 1)
		unit := []string{"420102", "420106", events.BroadcastUnit}[seq%3]
		o.rows = append(o.rows, events.Distribution{
			Seq: seq, EventID: fmt.Sprintf("ev-%d", seq), Unit: unit, Type: "registration.upserted",
			Table: events.Registration, RowID: fmt.Sprintf("R%d", seq), Key: fmt.Sprintf("K%d", seq%7),
			RowTime: time.Date(2025, 3, 1, 0, 0, int(seq%60), 0, time.UTC),
			Payload: fmt.Appendf(nil, `{"id":"R%d","phone":"1380000%04d"}`, seq, seq),
		})
	}
}

func (o *memOutbox) Apply(ctx context.Context, fn func(distribute.OutboxTx) error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	tx := &memTx{outbox: o}
	if err := fn(tx); err != nil {
		return err
	}
	o.rowsMu.Lock()
	defer o.rowsMu.Unlock()
	for _, p := range tx.marks {
		o.marks[p.Seq] = p
		o.markCount[p.Seq]++
	}
	o.hops = append(o.hops, tx.hops...)
	o.sentLog = append(o.sentLog, tx.logged...)
	return nil
}

func (o *memOutbox) LogFailed(_ context.Context, batches []distribute.Batch) error {
	o.rowsMu.Lock()
	defer o.rowsMu.Unlock()
	o.failedLog = append(o.failedLog, batches...)
	return nil
}

func (o *memOutbox) logs() (sent, failed []distribute.Batch) {
	o.rowsMu.Lock()
	defer o.rowsMu.Unlock()
	return slices.Clone(o.sentLog), slices.Clone(o.failedLog)
}

func (o *memOutbox) unpublished() int {
	o.rowsMu.Lock()
	defer o.rowsMu.Unlock()
	return len(o.rows) - len(o.marks)
}

type memTx struct {
	outbox *memOutbox
	marks  []distribute.Published
	hops   []events.Hop
	logged []distribute.Batch
}

func (t *memTx) RecordHops(_ context.Context, hops []events.Hop) error {
	t.hops = append(t.hops, hops...)
	return nil
}

func (t *memTx) LogSent(_ context.Context, batches []distribute.Batch) error {
	t.logged = append(t.logged, batches...)
	return nil
}

func (t *memTx) Pending(_ context.Context, limit int) ([]events.Distribution, error) {
	t.outbox.rowsMu.Lock()
	defer t.outbox.rowsMu.Unlock()
	var out []events.Distribution
	for _, d := range t.outbox.rows {
		if _, done := t.outbox.marks[d.Seq]; !done && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

func (t *memTx) MarkPublished(_ context.Context, published []distribute.Published) error {
	t.outbox.rowsMu.Lock()
	defer t.outbox.rowsMu.Unlock()
	if t.outbox.failMarks > 0 {
		t.outbox.failMarks--
		return errors.New("update outbox at db.example:5432: connection reset")
	}
	t.marks = append(t.marks, published...)
	return nil
}

// memBroker is a broker in memory: one partition per topic, an append-only log of everything that reached it.
type memBroker struct {
	mu   sync.Mutex
	log  []delivery
	ends map[string]int64 // next offset per topic
	// failures lists the next Send calls' fates: how many of the batch reach the log before the call fails.
	failures []int
	// short makes Send acknowledge one event fewer than it was given.
	short bool
	sent  chan int // receives each successful Send's size, when set
}

type delivery struct {
	Topic  string
	Offset int64
	Event  events.Distribution
}

func (b *memBroker) Send(_ context.Context, batch []events.Distribution) ([]distribute.Published, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	reached := len(batch)
	failing := len(b.failures) > 0
	if failing {
		reached, b.failures = min(b.failures[0], len(batch)), b.failures[1:]
	}
	published := make([]distribute.Published, 0, len(batch))
	for _, d := range batch[:reached] {
		topic := events.UnitTopic("test", d.Unit)
		if b.ends == nil {
			b.ends = map[string]int64{}
		}
		offset := b.ends[topic]
		b.ends[topic]++
		b.log = append(b.log, delivery{Topic: topic, Offset: offset, Event: d})
		published = append(published, distribute.Published{Seq: d.Seq, Topic: topic, Offset: offset})
	}
	if failing {
		return nil, fmt.Errorf("send %d events to kafka [broker.example:9092]: %d reached it, then: connection refused", len(batch), reached)
	}
	if b.short {
		published = published[:len(published)-1]
	}
	if b.sent != nil {
		b.sent <- len(batch)
	}
	return published, nil
}

func (b *memBroker) deliveries() []delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.log)
}
