package events

import "time"

// Distribution is one event for the units: a change of the dedicated store as the transactional outbox recorded
// it, in the same transaction as the change.
type Distribution struct {
	Seq     int64  // outbox order; events are published in it
	EventID string // ce_id: the same whenever the same change is delivered again
	Unit    string // unit code, or BroadcastUnit
	Type    string // ce_type: "<table>.upserted", "<table>.deleted" or "<table>.removed"
	Table   string
	RowID   string // ce_subject
	Key     string // Kafka record key: one work order's family shares one partition
	RowTime time.Time
	Payload []byte // the row as a JSON object; it holds personal data, so it never reaches logs
	// TraceParent is the W3C trace context the event was created in; empty when tracing was off.
	TraceParent string
	// Signature and SignatureKeyID are the ce_signature and ce_signaturekeyid headers (events/signing), filled in
	// by the forwarder just before the send; the outbox does not keep them.
	Signature      string `db:"-"`
	SignatureKeyID string `db:"-"`
}

// UnitTopic is the topic a unit consumes; the broadcast pseudo-unit's topic carries the data dictionary.
func UnitTopic(prefix, unit string) string { return prefix + "." + unit }

// KeysTopic is the compacted topic of the public keys that sign distribution events, a record per key id.
func KeysTopic(prefix string) string { return prefix + ".keys" }

// Record headers of a distribution event: CloudEvents 1.0 in Kafka binary content mode, plus W3C trace context.
const (
	HeaderSpecVersion = "ce_specversion"
	HeaderID          = "ce_id"
	HeaderType        = "ce_type"
	HeaderSource      = "ce_source"
	HeaderSubject     = "ce_subject"
	HeaderTime        = "ce_time"
	HeaderContentType = "content-type"
	HeaderTraceParent = "traceparent"
	// HeaderSignature and HeaderSignatureKeyID carry the event's signature (events/signing).
	HeaderSignature      = "ce_signature"
	HeaderSignatureKeyID = "ce_signaturekeyid"
)

// Fixed header values of distribution events.
const (
	CloudEventsVersion = "1.0"
	EventSource        = "/wuhan12315/hotline-bridge"
	PayloadContentType = "application/json"
)
