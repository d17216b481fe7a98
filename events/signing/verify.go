package signing

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// What can be wrong with an event's signature; Verify's errors wrap one of them.
var (
	ErrUnsigned     = errors.New("unsigned")                        // no ce_signature or no ce_signaturekeyid
	ErrUnknownKey   = errors.New("signed with a key not published") // or not yet read: read the keys topic again
	ErrBadSignature = errors.New("signature does not match")        // tampered, or signed by someone else
)

// KeySet is the published keys an event may be signed with, current and retired, by id.
type KeySet struct{ keys map[string]PublicKey }

// NewKeySet checks each key and keeps it.
func NewKeySet(keys ...PublicKey) (*KeySet, error) {
	s := &KeySet{keys: map[string]PublicKey{}}
	for _, k := range keys {
		if err := s.Add(k); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// keysFile is the public keys file: {"keys": [PublicKey, ...]}.
type keysFile struct {
	Keys []PublicKey `json:"keys"`
}

// ParseKeySet reads a public keys file (bridge keys public writes one).
func ParseKeySet(data []byte) (*KeySet, error) {
	var f keysFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("public keys file: %w", err)
	}
	return NewKeySet(f.Keys...)
}

// MarshalKeySet writes keys as a public keys file.
func MarshalKeySet(keys []PublicKey) ([]byte, error) {
	return json.MarshalIndent(keysFile{Keys: keys}, "", "  ")
}

// Add checks a key and keeps it; a key of the same id replaces the one held (a later record of the keys topic, say
// with its retirement time).
func (s *KeySet) Add(k PublicKey) error {
	if err := k.parse(); err != nil {
		return err
	}
	s.keys[k.ID] = k
	return nil
}

// AddRecord adds a keys topic record's value: one PublicKey as JSON.
func (s *KeySet) AddRecord(value []byte) error {
	var k PublicKey
	if err := json.Unmarshal(value, &k); err != nil {
		return fmt.Errorf("keys topic record: %w", err)
	}
	return s.Add(k)
}

// Has says whether the set holds a key of this id.
func (s *KeySet) Has(id string) bool {
	_, ok := s.keys[id]
	return ok
}

// Keys is every key held, by id.
func (s *KeySet) Keys() []PublicKey {
	out := make([]PublicKey, 0, len(s.keys))
	for _, id := range slices.Sorted(maps.Keys(s.keys)) {
		out = append(out, s.keys[id])
	}
	return out
}

// Verify checks r's signature. The algorithm is the published key's, never the record's say.
func (s *KeySet) Verify(r Record) error {
	id, encoded := r.Headers[HeaderSignatureKeyID], r.Headers[HeaderSignature]
	if id == "" || encoded == "" {
		return ErrUnsigned
	}
	key, ok := s.keys[id]
	if !ok {
		return fmt.Errorf("%w: key %s", ErrUnknownKey, id)
	}
	sig, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || !key.verify(r.Event().Canonical(), sig) {
		return fmt.Errorf("%w: key %s", ErrBadSignature, id)
	}
	return nil
}
