// Package signing is what the signature of a distribution event covers, and how it is made and checked: Ed25519
// by default, SM2 with SM3 (GB/T 32918, GM/T 0003) where national cryptography is required. It depends on
// nothing else of hotline-bridge, so a district can import it, or copy it as it is.
package signing

import "encoding/binary"

// Record headers a signed event carries beside the CloudEvents ones (extension attributes "signature" and
// "signaturekeyid", Kafka binary content mode).
const (
	HeaderSignature      = "ce_signature"      // base64 (standard, padded) of the signature over Canonical
	HeaderSignatureKeyID = "ce_signaturekeyid" // which published key made it
)

// The headers a signature covers, as the distribution contract names them.
const (
	headerID      = "ce_id"
	headerType    = "ce_type"
	headerSubject = "ce_subject"
	headerTime    = "ce_time"
)

// domain starts every canonical encoding, so that a signature over an event can never be taken for a signature
// over anything else the same key might sign, nor for another version of this encoding.
const domain = "hotline-bridge/ce_signature/v1"

// Event is what a signature covers, exactly as it is on the wire: four header values and the record's key and
// value bytes.
type Event struct {
	ID, Type, Subject, Time string // ce_id, ce_type, ce_subject, ce_time
	Key, Value              []byte
}

// Canonical is the byte string that is signed: the ASCII domain string "hotline-bridge/ce_signature/v1", then
// ce_id, ce_type, ce_subject, ce_time, key and value, in that order, each as its length in bytes (4 bytes,
// big-endian, unsigned) followed by its bytes. The lengths make it unambiguous: no byte can move from one field
// to its neighbour without changing the encoding.
func (e Event) Canonical() []byte {
	size := len(domain) + 6*4 + len(e.ID) + len(e.Type) + len(e.Subject) + len(e.Time) + len(e.Key) + len(e.Value)
	out := make([]byte, 0, size)
	out = append(out, domain...)
	out = appendField(out, e.ID)
	out = appendField(out, e.Type)
	out = appendField(out, e.Subject)
	out = appendField(out, e.Time)
	out = appendField(out, e.Key)
	return appendField(out, e.Value)
}

func appendField[F string | []byte](out []byte, field F) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(field)))
	return append(out, field...)
}

// Record is a consumed record as any Kafka client gives it: headers by name, key and value.
type Record struct {
	Headers    map[string]string
	Key, Value []byte
}

// Event is the part of the record a signature covers.
func (r Record) Event() Event {
	return Event{ID: r.Headers[headerID], Type: r.Headers[headerType], Subject: r.Headers[headerSubject],
		Time: r.Headers[headerTime], Key: r.Key, Value: r.Value}
}
