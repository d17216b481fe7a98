package events

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Metadata keys of a "row changed" event on a capture topic. They travel as Kafka record headers.
const (
	MetaTable      = "bridge_table"       // upstream table of the row
	MetaRowID      = "bridge_row_id"      // the row's primary key
	MetaUpdateTime = "bridge_update_time" // the row version's update_time, RFC 3339 with microseconds
	MetaKey        = "bridge_key"         // Kafka record key; the publisher uses it for partitioning
)

// CaptureTopic is the topic carrying every captured version of an upstream table's rows.
func CaptureTopic(prefix, table string) string { return prefix + ".capture." + table }

// RowVersion identifies one version of one upstream row.
type RowVersion struct {
	Table      string
	ID         string
	UpdateTime time.Time
	Payload    []byte // the row as a JSON object: every upstream column, RFC 3339 times
}

// EventID is stable for a row version: the same version captured again (after a crash, a restart or a replay)
// gets the same id, so every consumer can dedupe on it. The payload digest distinguishes two contents stamped
// with the same update_time, which upstream sometimes does.
func (v RowVersion) EventID() string {
	h := sha256.New()
	h.Write([]byte(v.Table))
	h.Write([]byte{0})
	h.Write([]byte(v.ID))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(v.UpdateTime.UnixMicro(), 10)))
	h.Write([]byte{0})
	h.Write(v.Payload)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// FormatTime renders times on the wire: RFC 3339 in UTC with microseconds, PostgreSQL's precision.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }
