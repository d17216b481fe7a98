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
