package events

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// A hop is one step of a row version's journey through the bridge: captured, decided, stored, removed,
// quarantined, published. The sorter and the forwarder record hops in the same transaction as the step itself
// (bridge.audit_outbox), a relay puts them on the audit topic, and the audit subscriber keeps them in
// bridge.audit_hop, the audit trail `bridge audit` reads.
//
// Hops carry ids, codes, numbers and times only — never row content: the audit trail is kept for months and
// read by operators, and personal data has no place in it.
type Hop struct {
	ID      string    `json:"hop_id,omitempty"` // unique and stable across redelivery: the audit trail dedupes on it
	Hop     string    `json:"hop"`
	At      time.Time `json:"at"`
	Table   string    `json:"table"`
	RowID   string    `json:"id"`
	Version time.Time `json:"version"` // the row version's update_time
	Unit    string    `json:"unit,omitempty"`
	// Registration is the work order the row belongs to (a registration's own id), RegNo its 登记编号 where
	// the row is the registration itself: the audit trail is looked up by either.
	Registration string     `json:"registration_id,omitempty"`
	RegNo        string     `json:"reg_no,omitempty"`
	Topic        string     `json:"topic,omitempty"`
	Partition    *int32     `json:"partition,omitempty"`
	Offset       *int64     `json:"offset,omitempty"`
	CeID         string     `json:"ce_id,omitempty"`
	TraceID      string     `json:"trace_id,omitempty"`
	Detail       *HopDetail `json:"detail,omitempty"`
}

// HopDetail says why: the rule that decided, the parent a parked row waits for, a quarantine reason, how a row
// came into a batch other than by capture, the event a stored row was distributed as, or who asked the gateway.
type HopDetail struct {
	Rule    string `json:"rule,omitempty"`
	Waiting string `json:"waiting_for,omitempty"` // "<table> <id>"
	Reason  string `json:"reason,omitempty"`
	Via     string `json:"via,omitempty"`
	Event   string `json:"event,omitempty"`
	// Caller is who asked the gateway for it: a unit code, or the hotline caller acting for the unit.
	Caller string `json:"caller,omitempty"`
}

// Hop names. They are wire names of the audit topic and values in the audit trail: never rename one.
const (
	HopCaptured    = "captured"
	HopDecided     = "decided"
	HopStored      = "stored"
	HopRemoved     = "removed"
	HopQuarantined = "quarantined"
	HopPublished   = "published"
)

// Units a decided hop names besides a unit code.
const (
	UnitNotWuhan = "not_wuhan"
	UnitParked   = "parked"
)

// How a row came into a sort batch other than from a capture record.
const (
	ViaUpstream = "re-read from upstream" // a missing parent pulled, or a family re-read when its work order moved
	ViaParking  = "released from parking"
	// ViaReconciled is a row source reconciliation re-read from upstream because the bridge's copy differed.
	ViaReconciled = "re-read by source reconciliation"
	// A replay's rows (bridge replay): decided again on request.
	ViaReplayCapture  = "replayed from the capture log"
	ViaReplayUpstream = "replayed from upstream"
)

// Metadata of a quarantine topic record the sorter rejected: the capture record its row came in.
const (
	MetaCapturePartition = "bridge_capture_partition"
	MetaCaptureOffset    = "bridge_capture_offset"
)

// AuditTopic carries hop envelopes to the audit subscriber.
func AuditTopic(prefix string) string { return prefix + ".audit" }

// HopEnvelope is one audit topic record: the hops one transaction recorded, in order.
type HopEnvelope struct {
	Hops []Hop `json:"hops"`
}

// EncodeHops renders hops as an audit topic record's payload.
func EncodeHops(hops []Hop) ([]byte, error) {
	return json.Marshal(HopEnvelope{Hops: hops})
}

// DecodeHops reads an audit topic record.
func DecodeHops(data []byte) ([]Hop, error) {
	var env HopEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("malformed hop envelope: %w", err)
	}
	for i, h := range env.Hops {
		if h.ID == "" || h.Hop == "" || h.Table == "" || h.RowID == "" {
			return nil, fmt.Errorf("malformed hop envelope: hop %d lacks its id, name, table or row id", i)
		}
	}
	return env.Hops, nil
}

// HopID names the nth hop of an audit envelope: a record sent again carries the same ids, and the trail keeps
// each hop once.
func HopID(envelope string, n int) string { return envelope + ":" + strconv.Itoa(n) }

// HopRecord is an audit topic record as read: its hops, and the payload they came in, which a trail may keep as
// it is rather than encode the hops again.
type HopRecord struct {
	Hops    []Hop
	Payload []byte // events.HopEnvelope as JSON; nil when the hops were not read from a record
}
