package audit

import (
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"hotline-bridge/events"
)

// Recorder is the audit subscriber: a Watermill handler that keeps each audit record's hops in the trail with one
// statement. A failed write returns the error, so the record is retried and redelivered, never dropped.
type Recorder struct{ trail Trail }

// NewRecorder records into trail.
func NewRecorder(trail Trail) *Recorder { return &Recorder{trail: trail} }

// Handle records one audit record. One that cannot be read is reported as such: retrying will not mend it.
func (r *Recorder) Handle(msg *message.Message) error {
	hops, err := events.DecodeHops(msg.Payload)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	return r.trail.Record(msg.Context(), events.HopRecord{Hops: hops, Payload: msg.Payload})
}

// ErrUnreadable marks an audit record that cannot be read.
var ErrUnreadable = errors.New("unreadable audit record")
