package capture

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"hotline-bridge/events"
)

// NewRowChangedMessage wraps a single row version as a "row changed" event, keyed by row id so that all versions
// of a row land on one partition in order. The quarantine topic carries rows in this form.
func NewRowChangedMessage(v events.RowVersion) *message.Message {
	m := message.NewMessage(v.EventID(), v.Payload)
	m.Metadata.Set(events.MetaTable, v.Table)
	m.Metadata.Set(events.MetaRowID, v.ID)
	m.Metadata.Set(events.MetaUpdateTime, events.FormatTime(v.UpdateTime))
	m.Metadata.Set(events.MetaKey, v.ID)
	return m
}

// NewEnvelopeMessage wraps row versions of one table that share a partition as one "rows changed" event. It is
// keyed by its first row, so it lands on that partition; its UUID is derived from the rows' ids and versions, so
// the same rows published again (after a crash) are recognisably the same message.
func NewEnvelopeMessage(table string, rows []events.RowVersion) *message.Message {
	h := sha256.New()
	h.Write([]byte(table))
	size := 0
	for _, v := range rows {
		h.Write([]byte{0})
		h.Write([]byte(v.ID))
		h.Write(binary.AppendVarint(nil, v.UpdateTime.UnixMicro()))
		size += events.EnvelopeSize(v)
	}
	m := message.NewMessage(hex.EncodeToString(h.Sum(nil)[:16]), events.EncodeEnvelope(make([]byte, 0, size), rows))
	m.Metadata.Set(events.MetaTable, table)
	m.Metadata.Set(events.MetaEnvelope, events.EnvelopeFormat)
	m.Metadata.Set(events.MetaRows, strconv.Itoa(len(rows)))
	m.Metadata.Set(events.MetaKey, rows[0].ID)
	return m
}

// RowVersionsFromMessage reads the row versions of a capture record: an envelope, or a single row (the format of
// the quarantine topic and of capture topics written before envelopes).
func RowVersionsFromMessage(m *message.Message) ([]events.RowVersion, error) {
	if m.Metadata.Get(events.MetaEnvelope) == "" {
		v, err := RowVersionFromMessage(m)
		return []events.RowVersion{v}, err
	}
	if f := m.Metadata.Get(events.MetaEnvelope); f != events.EnvelopeFormat {
		return nil, fmt.Errorf("event %s: %w: format %q, this bridge reads %q", m.UUID, events.ErrEnvelope, f, events.EnvelopeFormat)
	}
	n, err := strconv.Atoi(m.Metadata.Get(events.MetaRows))
	if err != nil {
		return nil, fmt.Errorf("event %s: %w: row count %q", m.UUID, events.ErrEnvelope, m.Metadata.Get(events.MetaRows))
	}
	rows, err := events.DecodeEnvelope(m.Metadata.Get(events.MetaTable), m.Payload, n)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", m.UUID, err)
	}
	return rows, nil
}

// RowVersionFromMessage reads a single-row "row changed" event back. A malformed update_time is kept as the zero
// time so the sorter can quarantine the row with its reason rather than lose it.
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
