package reconcile

import (
	"testing"
	"time"
)

func TestLossSaysWhyAPublishedEventCanNoLongerBeRead(t *testing.T) {
	recreated := Layout{Exists: true,
		Partitions: map[int32]Span{0: {Start: 0, End: 2}},
		// seqs 1–5 were at offsets 0–4 of the old topic; seq 10 was the first event on the recreated one
		Rewinds: map[int32][]Rewind{0: {{Seq: 10, Offset: 0}}},
	}
	truncated := Layout{Exists: true,
		Partitions: map[int32]Span{0: {Start: 0, End: 9}},
		// seqs 1–10 were at offsets 0–9; the tail from offset 7 was lost and seq 11 written at 7 again
		Rewinds: map[int32][]Rewind{0: {{Seq: 11, Offset: 7}}},
	}
	// Seq 10's sorting batch committed after seq 11 was published: 11 went out at offset 5, 10 after it at 6.
	early := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	lateCommit := Layout{Exists: true,
		Partitions: map[int32]Span{0: {Start: 0, End: 7}},
		Rewinds:    map[int32][]Rewind{0: {{Seq: 11, Offset: 5, PublishedAt: early}}},
	}
	retained := Layout{Exists: true, Partitions: map[int32]Span{0: {Start: 40, End: 50}, 1: {Start: 0, End: 3}}}
	for _, c := range []struct {
		name   string
		layout Layout
		event  Event
		want   string
	}{
		{"readable", retained, Event{Seq: 7, Partition: 0, Offset: 45}, ""},
		{"last readable offset", retained, Event{Seq: 7, Partition: 1, Offset: 2}, ""},
		{"deleted by retention", retained, Event{Seq: 7, Partition: 0, Offset: 39}, LossBelowLogStart},
		{"beyond the end", retained, Event{Seq: 7, Partition: 1, Offset: 3}, LossBeyondEnd},
		{"partition gone", retained, Event{Seq: 7, Partition: 2, Offset: 0}, LossPartitionMissing},
		{"topic gone", Layout{}, Event{Seq: 7, Partition: 0, Offset: 0}, LossTopicMissing},
		{"old event at an offset the recreated topic reuses", recreated, Event{Seq: 2, Partition: 0, Offset: 1}, LossRewound},
		{"old event beyond the recreated topic's end", recreated, Event{Seq: 5, Partition: 0, Offset: 4}, LossBeyondEnd},
		{"the rewind itself", recreated, Event{Seq: 10, Partition: 0, Offset: 0}, ""},
		{"written after the rewind", recreated, Event{Seq: 11, Partition: 0, Offset: 1}, ""},
		{"below the lost tail", truncated, Event{Seq: 7, Partition: 0, Offset: 6}, ""},
		{"in the lost tail", truncated, Event{Seq: 8, Partition: 0, Offset: 7}, LossRewound},
		{"written over the lost tail", truncated, Event{Seq: 12, Partition: 0, Offset: 8}, ""},
		{"rewind on another partition", truncated, Event{Seq: 8, Partition: 1, Offset: 7}, LossPartitionMissing},
		{"a lower seq published after a higher one", lateCommit, Event{Seq: 10, Partition: 0, Offset: 6, PublishedAt: early.Add(time.Millisecond)}, ""},
		{"a lower seq published before the rewind", lateCommit, Event{Seq: 10, Partition: 0, Offset: 6, PublishedAt: early.Add(-time.Millisecond)}, LossRewound},
	} {
		if got := c.layout.Loss(c.event); got != c.want {
			t.Errorf("%s: Loss(%+v) = %q, want %q", c.name, c.event, got, c.want)
		}
	}
}
