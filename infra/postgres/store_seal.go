package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/events"
)

// Sealer keeps personal data encrypted in what the store writes — its tables, the outbox, parked and quarantined
// rows — and opens what the sorter reads back (atrest.Keyring).
type Sealer interface {
	Seal(table string, payload []byte) []byte
	SealQuarantined(table string, payload []byte) []byte
	Open(table string, payload []byte) ([]byte, error)
}

// SealWith makes the store seal personal data with seal from now on, and open with it what it reads back.
func (s *Store) SealWith(seal Sealer) { s.seal = seal }

// openParked reads parked versions with their payloads opened: the sorter decides, and names versions by event
// id, on the payload capture gave.
func (s *Store) openParked(rows pgx.Rows) ([]events.RowVersion, error) {
	vs, err := collectVersions(rows)
	if err != nil {
		return nil, err
	}
	for i, v := range vs {
		if vs[i].Payload, err = s.seal.Open(v.Table, v.Payload); err != nil {
			return nil, fmt.Errorf("parked %s %s: %w", v.Table, v.ID, err)
		}
	}
	return vs, nil
}

// batchSealer seals each distinct payload of one batch once: a row's store row, its outbox events (one per unit
// it reaches) and its parking carry the same bytes, and may carry the same ciphertext.
type batchSealer struct {
	Sealer
	sealed map[string][]byte // by table NUL payload
}

func newBatchSealer(s Sealer) *batchSealer {
	return &batchSealer{Sealer: s, sealed: map[string][]byte{}}
}

func (b *batchSealer) Seal(table string, payload []byte) []byte {
	key := table + "\x00" + string(payload)
	if out, ok := b.sealed[key]; ok {
		return out
	}
	out := b.Sealer.Seal(table, payload)
	b.sealed[key] = out
	return out
}
