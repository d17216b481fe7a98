package capture

import (
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"hotline-bridge/events"
)

// NewRowChangedMessage wraps a row version as a "row changed" event, keyed by row id so that all versions of a
// row land on one partition in order.
func NewRowChangedMessage(v events.RowVersion) *message.Message {
	m := message.NewMessage(v.EventID(), v.Payload)
	m.Metadata.Set(events.MetaTable, v.Table)
	m.Metadata.Set(events.MetaRowID, v.ID)
	m.Metadata.Set(events.MetaUpdateTime, events.FormatTime(v.UpdateTime))
	m.Metadata.Set(events.MetaKey, v.ID)
	return m
}

// RowVersionFromMessage reads a "row changed" event back. A malformed update_time is kept as the zero time so
// the sorter can quarantine the row with its reason rather than lose it.
func RowVersionFromMessage(m *message.Message) (events.RowVersion, error) {
	v := events.RowVersion{
		Table:   m.Metadata.Get(events.MetaTable),
		ID:      m.Metadata.Get(events.MetaRowID),
		Payload: m.Payload,
	}
	at, err := time.Parse(time.RFC3339Nano, m.Metadata.Get(events.MetaUpdateTime))
	if err != nil {
		return v, fmt.Errorf("event %s: update_time header %q: %w", m.UUID, m.Metadata.Get(events.MetaUpdateTime), err)
	}
	v.UpdateTime = at
	return v, nil
}
