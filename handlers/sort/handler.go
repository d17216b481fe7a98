package sort

import (
	"github.com/ThreeDotsLabs/watermill/message"

	"hotline-bridge/handlers/capture"
)

// Handle is the router's handler for every capture topic.
func (s *Sorter) Handle(msg *message.Message) error {
	v, err := capture.RowVersionFromMessage(msg)
	if err != nil {
		return &BadRowError{Table: v.Table, ID: v.ID, Reason: err.Error()}
	}
	return s.Sort(msg.Context(), v)
}
