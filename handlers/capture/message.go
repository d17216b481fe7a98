package capture

import (
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
