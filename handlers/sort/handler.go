package sort

import (
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"go.opentelemetry.io/otel/propagation"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/handlers/spans"
)

// Handle is the router's handler for every capture topic: it decides a record's rows as one batch and returns
// those it could not sort as messages for the quarantine topic, each with its reason, so the rest flows on. A
// record that cannot be read at all is a bad row itself, for the poison queue.
func (s *Sorter) Handle(msg *message.Message) ([]*message.Message, error) {
	rows, err := capture.RowVersionsFromMessage(msg)
	if err != nil {
		table := msg.Metadata.Get(events.MetaTable)
		return nil, &BadRowError{Table: table, ID: msg.Metadata.Get(events.MetaRowID), Reason: err.Error()}
	}
	rejected, err := s.SortBatch(msg.Context(), rows)
	if err != nil {
		return nil, err
	}
	out := make([]*message.Message, 0, len(rejected))
	for _, r := range rejected {
		m := capture.NewRowChangedMessage(r.Version)
		m.Metadata.Set(middleware.ReasonForPoisonedKey, r.Reason)
		m.Metadata.Set(middleware.PoisonedTopicKey, message.SubscribeTopicFromCtx(msg.Context()))
		if o, ok := originFrom(msg.Context()); ok { // for the captured hop the quarantine recorder writes
			m.Metadata.Set(events.MetaCapturePartition, strconv.Itoa(int(o.Partition)))
			m.Metadata.Set(events.MetaCaptureOffset, strconv.FormatInt(o.Offset, 10))
		}
		spans.Propagator.Inject(msg.Context(), propagation.MapCarrier(m.Metadata))
		out = append(out, m)
	}
	return out, nil
}
