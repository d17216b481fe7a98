package events

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"time"
)

// A capture envelope carries many row versions of one table in one Kafka record. A catch-up moves tens of
// millions of rows; one record per row costs the broker, the producer and the sort router a round of
// per-record work each, and the sort router's subscriber keeps one record in flight per partition, so a record
// per row would also mean a store transaction per row. An envelope is decided as one batch.
//
// Wire format (MetaEnvelope names its version): for each row, uvarint length and bytes of the id, varint
// update_time in microseconds since the Unix epoch, uvarint length and bytes of the JSON payload.
const (
	MetaEnvelope   = "bridge_envelope" // envelope format version; absent on a single-row record
	MetaRows       = "bridge_rows"     // number of row versions in the envelope
	EnvelopeFormat = "1"
)

// ErrEnvelope marks an envelope that cannot be read: nothing in it can be sorted.
var ErrEnvelope = errors.New("malformed capture envelope")

// EncodeEnvelope appends the row versions to buf in the envelope format.
func EncodeEnvelope(buf []byte, rows []RowVersion) []byte {
	for _, v := range rows {
		buf = binary.AppendUvarint(buf, uint64(len(v.ID)))
		buf = append(buf, v.ID...)
		buf = binary.AppendVarint(buf, v.UpdateTime.UnixMicro())
		buf = binary.AppendUvarint(buf, uint64(len(v.Payload)))
		buf = append(buf, v.Payload...)
	}
	return buf
}

// EnvelopeSize is the encoded size of one row version, so that envelopes can be cut under the broker's limit.
func EnvelopeSize(v RowVersion) int {
	return 3*binary.MaxVarintLen64 + len(v.ID) + len(v.Payload)
}

// DecodeEnvelope reads an envelope of table's rows. The payloads alias data: they stay valid as long as it does.
func DecodeEnvelope(table string, data []byte, n int) ([]RowVersion, error) {
	rows := make([]RowVersion, 0, n)
	for len(data) > 0 {
		id, rest, err := lengthPrefixed(data)
		if err != nil {
			return nil, fmt.Errorf("%w: row %d id: %v", ErrEnvelope, len(rows), err)
		}
		micros, k := binary.Varint(rest)
		if k <= 0 {
			return nil, fmt.Errorf("%w: row %d update_time", ErrEnvelope, len(rows))
		}
		payload, rest, err := lengthPrefixed(rest[k:])
		if err != nil {
			return nil, fmt.Errorf("%w: row %d payload: %v", ErrEnvelope, len(rows), err)
		}
		rows = append(rows, RowVersion{Table: table, ID: string(id), UpdateTime: time.UnixMicro(micros).UTC(), Payload: payload})
		data = rest
	}
	if n >= 0 && len(rows) != n {
		return nil, fmt.Errorf("%w: %d rows, the header says %d", ErrEnvelope, len(rows), n)
	}
	return rows, nil
}

func lengthPrefixed(data []byte) (field, rest []byte, err error) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)-k) {
		return nil, nil, errors.New("length out of bounds")
	}
	return data[k : k+int(n)], data[k+int(n):], nil
}

// PartitionOf is the partition a record keyed key lands on among n under sarama's default hash partitioner
// (FNV-1a, the absolute value of the signed remainder), which is the one the bridge's producers use. Capture groups a page's rows by it, so that
// every version of a row travels on the row's own partition, in order, as it would in a record of its own.
func PartitionOf(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	p := int32(h.Sum32()) % int32(n)
	if p < 0 {
		p = -p
	}
	return int(p)
}
