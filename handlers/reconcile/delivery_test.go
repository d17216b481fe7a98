package reconcile

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

type fakeOutbox struct {
	latest  map[string][]Event
	rewinds map[string]map[int32][]Rewind
	resent  [][]int64
	fail    error
}

func (o *fakeOutbox) Latest(_ context.Context, unit string, fn func(Event) error) error {
	for _, e := range o.latest[unit] {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (o *fakeOutbox) Rewinds(_ context.Context, unit string) (map[int32][]Rewind, error) {
	return o.rewinds[unit], nil
}

func (o *fakeOutbox) Resend(_ context.Context, _ int64, seqs []int64) (int, error) {
	if o.fail != nil {
		return 0, o.fail
	}
	o.resent = append(o.resent, seqs)
	return len(seqs), nil
}

type fakeBroker struct {
	topics    map[string]map[int32]Span
	committed map[string]map[int32]int64 // by group
	created   []string
}

func (b *fakeBroker) Partitions(_ context.Context, topic string) (map[int32]Span, bool, error) {
	spans, ok := b.topics[topic]
	return spans, ok, nil
}

func (b *fakeBroker) Committed(_ context.Context, group, _ string, _ []int32) (map[int32]int64, error) {
	return b.committed[group], nil
}

func (b *fakeBroker) CreateTopic(_ context.Context, topic string) error {
	b.created = append(b.created, topic)
	return nil
}

func run(t *testing.T, d *Delivery, opts Options) []Finding {
	t.Helper()
	var out []Finding
	if err := d.Run(context.Background(), opts, func(f Finding) { out = append(out, f) }); err != nil {
		t.Fatal(err)
	}
	return out
}

func bySubject(fs []Finding, subject string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Subject == subject {
			out = append(out, f)
		}
	}
	return out
}

func upsert(seq int64, id string, p int32, off int64) Event {
	return Event{Seq: seq, Table: "registration", RowID: id, Type: "registration.upserted", Published: true, Partition: p, Offset: off}
}

func removal(seq int64, id string, p int32, off int64) Event {
	e := upsert(seq, id, p, off)
	e.Type = "registration.removed"
	return e
}

// retainedUnit is a unit whose partition 0 lost its first 10 offsets to retention: R1 and R2 (their latest
// events below the log start) must be re-sent, R3 not (readable), R4 is pending, R5's lost removal is needed by
// no reader, R6's removal is needed by a group that had read only up to offset 4.
func retainedUnit() (*fakeOutbox, *fakeBroker) {
	outbox := &fakeOutbox{latest: map[string][]Event{"420106": {
		upsert(3, "R1", 0, 2), upsert(5, "R2", 0, 4), removal(7, "R5", 0, 3), removal(9, "R6", 0, 6), upsert(12, "R3", 0, 11),
		{Seq: 20, Table: "registration", RowID: "R4", Type: "registration.deleted"},
	}}}
	broker := &fakeBroker{topics: map[string]map[int32]Span{"p.420106": {0: {Start: 10, End: 12}, 1: {Start: 0, End: 0}}}}
	return outbox, broker
}

func TestDeliveryResendsTheRowsWhoseLatestEventIsLostInOutboxOrder(t *testing.T) {
	outbox, broker := retainedUnit()
	d := NewDelivery([]string{"420106"}, nil, "p", outbox, broker)
	got := run(t, d, Options{Run: 1})
	if want := [][]int64{{3, 5}}; !slices.EqualFunc(outbox.resent, want, slices.Equal) {
		t.Fatalf("re-sent %v, want %v (the upserts below the log start, not the removals)", outbox.resent, want)
	}
	sum := bySubject(got, SubjectUnit)[0]
	if sum.Expected != 4 || sum.Found != 1 || sum.Pending != 1 || sum.Missing != 2 || sum.Repaired != 2 || sum.Unrepaired() != 0 {
		t.Errorf("unit summary %+v: want 4 expected, 1 found, 1 pending, 2 missing, 2 repaired", sum)
	}
	if want := "2 rows' latest event below the log start; 2 removals no longer readable, needed by no reader (none can read the row before them)"; sum.Detail != want {
		t.Errorf("detail %q, want %q", sum.Detail, want)
	}
	parts := bySubject(got, SubjectPartition)
	if len(parts) != 1 || *parts[0].Partition != 0 || parts[0].Missing != 2 || parts[0].Expected != 3 || parts[0].Detail != "log start 10, end 12" {
		t.Errorf("partition findings %+v: want partition 0 with 3 rows, 2 missing", parts)
	}
}

func TestDeliveryResendsTheRemovalsAGroupHadNotReadBeforeTheyWereLost(t *testing.T) {
	outbox, broker := retainedUnit()
	broker.committed = map[string]map[int32]int64{"district-420106": {0: 4}}
	d := NewDelivery([]string{"420106"}, map[string]string{"420106": "district-420106"}, "p", outbox, broker)
	got := run(t, d, Options{Run: 1})
	// R5's removal (offset 3) the group read before the log start moved; R6's (offset 6) it had not.
	if want := [][]int64{{3, 5, 9}}; !slices.EqualFunc(outbox.resent, want, slices.Equal) {
		t.Fatalf("re-sent %v, want %v", outbox.resent, want)
	}
	groups := bySubject(got, SubjectGroup)
	if len(groups) != 1 {
		t.Fatalf("group findings %+v, want one for partition 0", groups)
	}
	g := groups[0]
	// It had 8 events to read (4..11); 2 of them (10, 11) are still there; R2 (offset 4) and R6 (offset 6) it can no longer read.
	if g.Expected != 8 || g.Found != 2 || g.Missing != 2 || g.Repaired != 2 || g.Group != "district-420106" {
		t.Errorf("group finding %+v: want 8 expected, lag 2, 2 missing, 2 repaired", g)
	}
	if want := "committed 4, log start 10, end 12, lag 2; 6 events below the log start the group can no longer read; 2 rows' latest event among them"; g.Detail != want {
		t.Errorf("group detail %q, want %q", g.Detail, want)
	}
}

func TestDeliveryDryRunRepairsNothingAndReportsWhatIsMissing(t *testing.T) {
	outbox, broker := retainedUnit()
	delete(broker.topics, "p.420106")
	d := NewDelivery([]string{"420106"}, nil, "p", outbox, broker)
	got := run(t, d, Options{Run: 1, DryRun: true})
	if len(outbox.resent) != 0 || len(broker.created) != 0 {
		t.Fatalf("a dry run re-sent %v and created %v", outbox.resent, broker.created)
	}
	sum := bySubject(got, SubjectUnit)[0]
	if sum.Missing != 3 || sum.Unrepaired() != 3 || sum.Detail[:13] != "topic missing" {
		t.Errorf("unit summary %+v: want 3 missing and unrepaired, topic missing", sum)
	}
}

func TestDeliveryCreatesAMissingTopicAndResendsTheUnitsWholeState(t *testing.T) {
	outbox, broker := retainedUnit()
	delete(broker.topics, "p.420106")
	d := NewDelivery([]string{"420106"}, nil, "p", outbox, broker)
	got := run(t, d, Options{Run: 1})
	if !slices.Equal(broker.created, []string{"p.420106"}) {
		t.Fatalf("created %v", broker.created)
	}
	if want := [][]int64{{3, 5, 12}}; !slices.EqualFunc(outbox.resent, want, slices.Equal) {
		t.Fatalf("re-sent %v, want every published row's latest state %v", outbox.resent, want)
	}
	if sum := bySubject(got, SubjectUnit)[0]; sum.Repaired != 3 || sum.Pending != 1 || sum.Unrepaired() != 0 {
		t.Errorf("unit summary %+v", sum)
	}
}

func TestDeliveryReportsWhatItCouldNotResend(t *testing.T) {
	outbox, broker := retainedUnit()
	outbox.fail = errors.New("store down")
	got := run(t, NewDelivery([]string{"420106"}, nil, "p", outbox, broker), Options{Run: 1})
	sum := bySubject(got, SubjectUnit)[0]
	if sum.Unrepaired() != 2 || !strings.Contains(sum.Detail, "re-sending stopped after 0 rows: store down") {
		t.Errorf("unit summary %+v: want 2 unrepaired and why", sum)
	}
}
