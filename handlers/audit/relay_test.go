package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"hotline-bridge/events"
	"hotline-bridge/handlers/audit"
)

type memOutbox struct{ rows []audit.Pending }

func (o *memOutbox) Apply(_ context.Context, fn func(audit.OutboxTx) error) error {
	tx := &memTx{outbox: o}
	if err := fn(tx); err != nil {
		return err
	}
	kept := o.rows[:0]
	for _, r := range o.rows {
		if !tx.done[r.Seq] {
			kept = append(kept, r)
		}
	}
	o.rows = kept
	return nil
}

type memTx struct {
	outbox *memOutbox
	done   map[int64]bool
}

func (t *memTx) Pending(_ context.Context, limit int) ([]audit.Pending, error) {
	var out []audit.Pending
	for _, r := range t.outbox.rows[:min(limit, len(t.outbox.rows))] {
		out = append(out, audit.Pending{Seq: r.Seq, Hops: append([]byte(nil), r.Hops...)})
	}
	return out, nil
}

func (t *memTx) Done(_ context.Context, seqs []int64) error {
	t.done = map[int64]bool{}
	for _, s := range seqs {
		t.done[s] = true
	}
	return nil
}

type memPublisher struct {
	fail int // fail this many more calls
	msgs []*message.Message
}

func (p *memPublisher) Publish(_ string, msgs ...*message.Message) error {
	if p.fail > 0 {
		p.fail--
		return errors.New("broker down")
	}
	p.msgs = append(p.msgs, msgs...)
	return nil
}

func (p *memPublisher) Close() error { return nil }

// hops are n hops as the outbox holds them: a JSON array, without hop ids.
func hops(n int) []byte {
	out := make([]events.Hop, n)
	for i := range out {
		out[i] = events.Hop{Hop: events.HopStored, At: time.Unix(0, 0).UTC(), Table: events.Registration, RowID: fmt.Sprint("R", i), Unit: "420106"}
	}
	doc, _ := json.Marshal(out)
	return doc
}

// A relay that fails after the broker took some records sends them again under the same hop ids, and the trail
// keeps each hop once; a big transaction's hops are cut into records of a bounded size.
func TestRelayNamesHopsStablyAcrossRetriesAndCutsBigTransactions(t *testing.T) {
	outbox := &memOutbox{rows: []audit.Pending{{Seq: 7, Hops: hops(1200)}, {Seq: 8, Hops: hops(3)}}}
	pub := &memPublisher{fail: 1}
	relay := audit.NewRelay(outbox, pub, "wuhan12315.audit", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := relay.Relay(context.Background()); err == nil || len(outbox.rows) != 2 {
		t.Fatalf("a failed publish returned %v and left %d rows; want the error and both rows kept", err, len(outbox.rows))
	}
	if n, err := relay.Relay(context.Background()); err != nil || n != 2 || len(outbox.rows) != 0 {
		t.Fatalf("Relay = %d, %v with %d rows left; want both relayed and cleared", n, err, len(outbox.rows))
	}
	trail := &memTrail{ids: map[string]events.Hop{}}
	recorder := audit.NewRecorder(trail)
	for _, m := range pub.msgs {
		if len(m.Payload) > 512<<10 {
			t.Errorf("an audit record of %d bytes: records must stay far below the broker's limit", len(m.Payload))
		}
		if err := recorder.Handle(m); err != nil {
			t.Fatal(err)
		}
	}
	if len(pub.msgs) != 4 || len(trail.ids) != 1203 {
		t.Fatalf("%d records holding %d distinct hops; want 1200 hops in 3 records and 3 in one", len(pub.msgs), len(trail.ids))
	}
	if h := trail.ids["a7:1199"]; h.RowID != "R1199" || h.Unit != "420106" || h.Hop != events.HopStored {
		t.Errorf("hop a7:1199 is %+v, want the 1200th hop of outbox row 7 as it was written", h)
	}
	if err := recorder.Handle(pub.msgs[0]); err != nil || len(trail.ids) != 1203 {
		t.Errorf("a record delivered again: %v, %d hops; want the trail unchanged", err, len(trail.ids))
	}
}

type memTrail struct{ ids map[string]events.Hop }

func (m *memTrail) Record(_ context.Context, record events.HopRecord) error {
	for _, h := range record.Hops {
		m.ids[h.ID] = h
	}
	return nil
}

func TestRecorderReportsAnUnreadableRecordAsSuch(t *testing.T) {
	recorder := audit.NewRecorder(&memTrail{ids: map[string]events.Hop{}})
	for name, payload := range map[string]string{"not JSON": `{hops`, "a hop without id": `{"hops":[{"hop":"stored","table":"registration","id":"R1"}]}`} {
		err := recorder.Handle(message.NewMessage(watermill.NewUUID(), []byte(payload)))
		if !errors.Is(err, audit.ErrUnreadable) {
			t.Errorf("%s: Handle = %v, want ErrUnreadable", name, err)
		}
	}
}

// An outbox row the relay cannot name hops in (an element that is no object) is still relayed, and the audit
// subscriber sets its record aside as unreadable rather than the relay stalling on it.
func TestRelayPassesAMalformedOutboxRowOnToBeSetAside(t *testing.T) {
	for name, hops := range map[string]string{
		"an element that is no hop": `[1, {"hop":"stored","at":"1970-01-01T00:00:00Z","table":"registration","id":"R1"}]`,
		"a row that is not JSON":    `[{"hop":"stored","at":"1970-01-01T00:00:00Z","table":"registration","id":"R1"`,
		"a lone hop, not an array":  `{"hop":"stored","at":"1970-01-01T00:00:00Z","table":"registration","id":"R1"}`,
	} {
		t.Run(name, func(t *testing.T) {
			outbox := &memOutbox{rows: []audit.Pending{{Seq: 9, Hops: []byte(hops)}}}
			pub := &memPublisher{}
			relay := audit.NewRelay(outbox, pub, "wuhan12315.audit", slog.New(slog.NewTextHandler(io.Discard, nil)))
			if n, err := relay.Relay(context.Background()); err != nil || n != 1 || len(pub.msgs) != 1 {
				t.Fatalf("Relay = %d, %v with %d records; want the row relayed as one record", n, err, len(pub.msgs))
			}
			if !json.Valid(pub.msgs[0].Payload) || !strings.Contains(string(pub.msgs[0].Payload), "R1") {
				t.Errorf("record %s: want JSON that keeps what the row held", pub.msgs[0].Payload)
			}
			err := audit.NewRecorder(&memTrail{ids: map[string]events.Hop{}}).Handle(pub.msgs[0])
			if !errors.Is(err, audit.ErrUnreadable) {
				t.Errorf("Handle = %v, want ErrUnreadable", err)
			}
		})
	}
}
