package distribute

import (
	"context"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/events/signing"
)

// Outbox is the transactional outbox. Apply runs fn in one transaction that holds the forwarding claim from the
// first read to the commit, so that the send happens inside it: whatever the number of bridge instances, one
// forwarder at a time reads, sends and marks, and the marks commit only if fn succeeds.
type Outbox interface {
	Apply(ctx context.Context, fn func(OutboxTx) error) error
	// LogFailed appends a failed send to the distribution log, outside the outbox transaction that rolled back.
	LogFailed(ctx context.Context, batches []Batch) error
}

// OutboxTx is what forwarding does inside one outbox transaction.
type OutboxTx interface {
	// Pending returns up to limit committed, unpublished events in seq order.
	Pending(ctx context.Context, limit int) ([]events.Distribution, error)
	// MarkPublished records where each event landed; the marks commit with the transaction.
	MarkPublished(ctx context.Context, published []Published) error
	// RecordHops keeps the audit trail's hops of the batch; they commit with the marks.
	RecordHops(ctx context.Context, hops []events.Hop) error
	// LogSent appends an acknowledged send to the distribution log; it commits with the marks.
	LogSent(ctx context.Context, batches []Batch) error
}

// Opener gives back the payload the contract publishes from the one the outbox keeps, whose personal fields are
// encrypted at rest. An error that must not be retried says so with a Permanent() bool method.
type Opener interface {
	Open(table string, payload []byte) ([]byte, error)
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

// Batch is one entry of the distribution log (分发日志): the events of one send that went to one unit's topic
// partition. A failed send has one entry per unit, with Topic empty and Partition, First and Last -1: the broker
// assigned nothing it acknowledged.
type Batch struct {
	Started     time.Time // when the send began, the same for every entry of one send
	Duration    time.Duration
	Unit        string
	Topic       string
	Partition   int32
	First, Last int64 // offsets of the first and last event
	Events      int
	FirstSeq    int64  // the send's first outbox seq: the same on every retry of one batch
	Error       string // why the send failed; empty when it did not. Names brokers and counts, never payloads
}

// Signer signs the events of a batch just before they are sent.
type Signer interface {
	// Sign fills in every event's Signature and SignatureKeyID. The key it signs with is on the keys topic
	// before the first event signed with it is returned, so that no consumer meets a key it cannot look up.
	Sign(ctx context.Context, batch []events.Distribution) error
}

// SigningKeys is where the bridge keeps the keys it signs with, shared by every instance.
type SigningKeys interface {
	// Active is the stored key new events are signed with; a rotation changes it under running bridges.
	Active(ctx context.Context) (*signing.PrivateKey, error)
	// Public is every key the bridge has signed with, retired ones too: old events must still verify.
	Public(ctx context.Context) ([]signing.PublicKey, error)
}

// KeyPublisher publishes the public keys (the compacted keys topic, a record per key id).
type KeyPublisher interface {
	PublishKeys(ctx context.Context, keys []signing.PublicKey) error
}
