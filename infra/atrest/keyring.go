package atrest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"hotline-bridge/events"
)

// Algorithms a key seals with.
const (
	AES256GCM = "AES-256-GCM" // the default
	SM4GCM    = "SM4-GCM"     // national cryptography (GB/T 32907), where it is required
)

// Algorithms lists every algorithm, the default first.
var Algorithms = []string{AES256GCM, SM4GCM}

// KeySize is the length of a key file: 32 random bytes, e.g. head -c 32 /dev/urandom.
const KeySize = 32

// Prefix starts every sealed value: enc:v1:<key id>:<base64url of nonce, ciphertext and tag>.
const Prefix = "enc:v1:"

type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring seals with one current key and opens with every key it holds. A Keyring without a current key seals
// nothing (values stay in clear) but still opens what an earlier configuration sealed, with the keys it holds.
type Keyring struct {
	current  *key
	byID     map[string]*key
	personal map[string][]string // table → its personal fields (events.Kind.Personal)
}

// NewKeyring seals with current under algorithm (nil current: seals nothing) and opens with current and
// readable. Every key opens under either algorithm, so that a rotation may change the algorithm too.
func NewKeyring(algorithm string, current []byte, readable ...[]byte) (*Keyring, error) {
	k := &Keyring{byID: map[string]*key{}, personal: map[string][]string{}}
	for _, kind := range events.Catalogue {
		if len(kind.Personal) > 0 {
			k.personal[kind.Table] = kind.Personal
		}
	}
	if current != nil {
		c, err := newKey(algorithm, current)
		if err != nil {
			return nil, err
		}
		k.current = c
	}
	for _, raw := range append([][]byte{current}, readable...) {
		if raw == nil {
			continue
		}
		for _, alg := range Algorithms {
			c, err := newKey(alg, raw)
			if err != nil {
				return nil, err
			}
			k.byID[c.id] = c
		}
	}
	return k, nil
}

// KeyID names a key under an algorithm: the first 8 bytes of SHA-256 over both, hex. Every instance given the
// same key file derives the same id, and the id says nothing about the key.
func KeyID(algorithm string, raw []byte) string {
	h := sha256.New()
	h.Write([]byte("hotline-bridge key id\x00" + algorithm + "\x00"))
	h.Write(raw)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func newKey(algorithm string, raw []byte) (*key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("an encryption key is %d bytes, want %d", len(raw), KeySize)
	}
	var block cipher.Block
	var err error
	switch algorithm {
	case AES256GCM:
		block, err = aes.NewCipher(raw)
	case SM4GCM:
		// SM4 takes 128 bits: derived from the 256-bit key with HKDF over SM3, so one key file serves both.
		var sm4Key []byte
		if sm4Key, err = hkdf.Key(sm3.New, raw, nil, "hotline-bridge SM4-GCM", 16); err == nil {
			block, err = sm4.NewCipher(sm4Key)
		}
	default:
		return nil, fmt.Errorf("encryption algorithm %q: want %s", algorithm, strings.Join(Algorithms, " or "))
	}
	if err != nil {
		return nil, fmt.Errorf("%s key: %w", algorithm, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%s key: %w", algorithm, err)
	}
	return &key{id: KeyID(algorithm, raw), aead: aead}, nil
}

// ReadKeyFile reads a key file, checking that it holds exactly KeySize bytes. The error names the setting and
// the file, never its content.
func ReadKeyFile(setting, path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("%s %s holds %d bytes; an encryption key is exactly %d random bytes (head -c %d /dev/urandom > FILE)",
			setting, path, len(raw), KeySize, KeySize)
	}
	return raw, nil
}

// Sealing says whether the keyring seals (it has a current key).
func (k *Keyring) Sealing() bool { return k != nil && k.current != nil }

// CurrentID is the id of the key that seals, empty when the keyring seals nothing.
func (k *Keyring) CurrentID() string {
	if !k.Sealing() {
		return ""
	}
	return k.current.id
}

// Opens says whether the keyring holds the key of id.
func (k *Keyring) Opens(id string) bool { _, ok := k.byID[id]; return ok }

// Personal is the table's personal fields (nil for a table without any).
func (k *Keyring) Personal(table string) []string { return k.personal[table] }

// Tables lists the tables with personal fields, in the catalogue's order.
func (k *Keyring) Tables() []string {
	var out []string
	for _, kind := range events.Catalogue {
		if len(kind.Personal) > 0 {
			out = append(out, kind.Table)
		}
	}
	return out
}

// additional binds a ciphertext to the table and field it was sealed for: moved to another column, it fails to
// open instead of passing for that column's value.
func additional(table, field string) []byte {
	return []byte("hotline-bridge\x00" + table + "\x00" + field)
}

// sealValue seals plaintext with the current key.
func (k *Keyring) sealValue(table, field string, plaintext []byte) string {
	c := k.current
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(plaintext)+c.aead.Overhead())
	_, _ = rand.Read(nonce) // never fails (crypto/rand)
	sealed := c.aead.Seal(nonce, nonce, plaintext, additional(table, field))
	return Prefix + c.id + ":" + base64.RawURLEncoding.EncodeToString(sealed)
}

// IsSealed says whether v is a sealed value.
func IsSealed(v string) bool { return strings.HasPrefix(v, Prefix) }

// SealedKeyID is the key id a sealed value names, empty when v is not sealed.
func SealedKeyID(v string) string {
	if !IsSealed(v) {
		return ""
	}
	id, _, _ := strings.Cut(v[len(Prefix):], ":")
	return id
}

// openValue opens a sealed value sealed for table and field.
func (k *Keyring) openValue(table, field, v string) ([]byte, error) {
	id, body, ok := strings.Cut(v[len(Prefix):], ":")
	c, known := k.byID[id]
	if !known {
		return nil, &UnknownKeyError{KeyID: id}
	}
	sealed, err := base64.RawURLEncoding.DecodeString(body)
	if !ok || err != nil || len(sealed) < c.aead.NonceSize()+c.aead.Overhead() {
		return nil, &DamagedError{KeyID: id}
	}
	n := c.aead.NonceSize()
	plain, err := c.aead.Open(nil, sealed[:n], sealed[n:], additional(table, field))
	if err != nil {
		return nil, &DamagedError{KeyID: id}
	}
	return plain, nil
}

// UnknownKeyError is a sealed value under a key the keyring does not hold. Retrying cannot mend it: the
// operator must configure the key.
type UnknownKeyError struct{ KeyID string }

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("a value is sealed under encryption key id %s, which none of the configured keys has: add the file of that key to encryption_old_key_files (or encryption_key_file)", e.KeyID)
}

// Permanent tells retriers that waiting cannot mend this.
func (e *UnknownKeyError) Permanent() bool { return true }

// DamagedError is a sealed value that does not open under the key its id names: damaged, or not sealed for the
// column it is in.
type DamagedError struct{ KeyID string }

func (e *DamagedError) Error() string {
	return fmt.Sprintf("a value sealed under encryption key id %s does not open: damaged, or moved from another column", e.KeyID)
}

// Permanent tells retriers that waiting cannot mend this.
func (e *DamagedError) Permanent() bool { return true }

// ErrNotSealing is returned by what needs a current key when the keyring has none.
var ErrNotSealing = errors.New("no encryption key to seal with: set encryption_key_file")
