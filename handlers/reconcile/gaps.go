package reconcile

import (
	"strings"
	"time"

	"hotline-bridge/events"
)

// Span is what a partition holds now: the offsets from Start, its log start, up to End, the next to be written.
type Span struct{ Start, End int64 }

// Rewind is a published event recorded at an offset no higher than the event published just before it on its
// partition: the partition had been rewound (deleted and recreated, or its tail lost in an unclean failover)
// before it was written, so every earlier event recorded there at or above Offset was lost or overwritten. One
// forwarder at a time publishes, a batch at a time, so a partition's offsets only ever grow in publish order
// otherwise: (PublishedAt, Seq), the batch's time and the order within it. Not seq alone: a sorting batch can
// commit a lower seq after the forwarder published a higher one.
type Rewind struct {
	Seq, Offset int64
	PublishedAt time.Time
}

// Layout is a unit topic as the broker has it now, with the rewinds the outbox recorded on it.
type Layout struct {
	Exists     bool
	Partitions map[int32]Span
	Rewinds    map[int32][]Rewind
}

// Event is the latest outbox event of one row in one unit, and where the forwarder recorded it.
type Event struct {
	Seq       int64
	Table     string
	RowID     string
	Type      string // "<table>.upserted", "<table>.deleted" or "<table>.removed"
	Published bool
	// PublishedAt is when its batch was marked published; zero while pending.
	PublishedAt time.Time
	Partition   int32
	Offset      int64
}

// Removed says the row left the unit with this event.
func (e Event) Removed() bool { return strings.HasSuffix(e.Type, "."+events.EventRemoved) }

// Reasons a published event can no longer be read where it was recorded.
const (
	LossTopicMissing     = "topic missing"
	LossPartitionMissing = "partition missing"
	LossBelowLogStart    = "below the log start"
	LossBeyondEnd        = "at or beyond the end"
	LossRewound          = "overwritten after a rewind"
)

// Loss says why the published event e can no longer be read where it was recorded, or "" when it still can.
func (l Layout) Loss(e Event) string {
	if !l.Exists {
		return LossTopicMissing
	}
	span, ok := l.Partitions[e.Partition]
	switch {
	case !ok:
		return LossPartitionMissing
	case e.Offset < span.Start:
		return LossBelowLogStart
	case e.Offset >= span.End:
		return LossBeyondEnd
	}
	// A later event recorded at or below e's offset means the log was rewound past e after it was written; the
	// first such event is always a rewind, so the rewinds alone decide it.
	for _, r := range l.Rewinds[e.Partition] {
		if r.publishedAfter(e) && r.Offset <= e.Offset {
			return LossRewound
		}
	}
	return ""
}

// publishedAfter says whether the rewind reached the broker after e did.
func (r Rewind) publishedAfter(e Event) bool {
	if !r.PublishedAt.Equal(e.PublishedAt) {
		return r.PublishedAt.After(e.PublishedAt)
	}
	return r.Seq > e.Seq
}
