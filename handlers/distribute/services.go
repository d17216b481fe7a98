package distribute

import (
	"context"

	"hotline-bridge/events"
)

// Outbox is the transactional outbox. Apply runs fn in one transaction that holds the forwarding claim from the
// first read to the commit, so that the send happens inside it: whatever the number of bridge instances, one
// forwarder at a time reads, sends and marks, and the marks commit only if fn succeeds.
type Outbox interface {
	Apply(ctx context.Context, fn func(OutboxTx) error) error
}

// OutboxTx is what forwarding does inside one outbox transaction.
type OutboxTx interface {
	// Pending returns up to limit committed, unpublished events in seq order.
	Pending(ctx context.Context, limit int) ([]events.Distribution, error)
	// MarkPublished records where each event landed; the marks commit with the transaction.
	MarkPublished(ctx context.Context, published []Published) error
	// RecordHops keeps the audit trail's hops of the batch; they commit with the marks.
	RecordHops(ctx context.Context, hops []events.Hop) error
}

// Sender publishes distribution events to the units' topics.
type Sender interface {
	// Send returns once every event is acknowledged, with where each landed, in the order given. After an error
	// any of them may or may not be on the broker: the caller sends them all again, under the same ce_id.
	Send(ctx context.Context, batch []events.Distribution) ([]Published, error)
}

// Published is where the broker stored one outbox event.
type Published struct {
	Seq       int64
	Topic     string
	Partition int32
	Offset    int64
	TraceID   string // of the traceparent the record carries, for the audit trail
}
