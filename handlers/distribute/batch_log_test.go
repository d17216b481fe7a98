package distribute_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// The distribution log has an entry per unit topic partition of every acknowledged send, with the offsets the
// events got, and an entry per unit of every failed send, with its error.
func TestForwarderLogsEverySendPerTopicPartitionAndEveryFailure(t *testing.T) {
	o := newMemOutbox()
	o.add(1500)
	b := &memBroker{failures: []int{0}}
	f := newForwarder(t, o, b, &recorder{})
	if n, err := f.Drain(context.Background()); err != nil || n != 1500 {
		t.Fatalf("Drain = %d, %v; want 1500", n, err)
	}
	sent, failed := o.logs()

	var failures []string
	for _, e := range failed {
		failures = append(failures, fmt.Sprintf("%s %d seq %d", e.Unit, e.Events, e.FirstSeq))
		if e.Topic != "" || e.Partition != -1 || e.First != -1 || !strings.Contains(e.Error, "broker.example:9092") || strings.Contains(e.Error, "1380000") {
			t.Errorf("failed send logged as %+v; want no topic, partition or offsets, and the broker's error without payloads", e)
		}
	}
	sort.Strings(failures)
	if got := strings.Join(failures, ", "); got != "420102 333 seq 1, 420106 334 seq 1, broadcast 333 seq 1" {
		t.Errorf("failed send logged as %s; want the first batch of 1000 per unit", got)
	}

	want := map[string][2]int64{} // topic → first, last offset as the broker stored them
	counts := map[string]int{}
	for _, d := range b.deliveries() {
		r, seen := want[d.Topic]
		if !seen {
			r = [2]int64{d.Offset, d.Offset}
		}
		want[d.Topic] = [2]int64{min(r[0], d.Offset), max(r[1], d.Offset)}
		counts[d.Topic]++
	}
	got := map[string][2]int64{}
	events := map[string]int{}
	sends := map[int64]bool{}
	for _, e := range sent {
		if e.Error != "" || e.Partition != 0 || e.Topic != "test."+e.Unit {
			t.Errorf("acknowledged send logged as %+v", e)
		}
		r, seen := got[e.Topic]
		if !seen {
			r = [2]int64{e.First, e.Last}
		}
		got[e.Topic] = [2]int64{min(r[0], e.First), max(r[1], e.Last)}
		events[e.Topic] += e.Events
		sends[e.FirstSeq] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(events) != fmt.Sprint(counts) {
		t.Errorf("log says offsets %v and events %v per topic; the broker holds %v and %v", got, events, want, counts)
	}
	if len(sends) != 2 || !sends[1] || !sends[1001] {
		t.Errorf("acknowledged sends start at outbox seqs %v, want 1 and 1001", sends)
	}
}
