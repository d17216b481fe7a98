package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Algorithms a key signs with.
const (
	Ed25519 = "ed25519"
	// SM2SM3 is SM2 signing with SM3 over the SM2 user-id digest Z_A (GB/T 32918.2), the default user id
	// "1234567812345678" (GB/T 35276); the signature is ASN.1 DER (r, s).
	SM2SM3 = "sm2-sm3"
)

// Algorithms is every algorithm a key can have.
var Algorithms = []string{Ed25519, SM2SM3}

// PrivateKey signs events. Its ID is derived from its public key, so every instance holding the same key names it
// the same way without agreeing on anything.
type PrivateKey struct {
	ID        string
	Algorithm string
	key       crypto.Signer // ed25519.PrivateKey or *sm2.PrivateKey
	spki      []byte        // the public key, SubjectPublicKeyInfo DER
}

// GenerateKey makes a new key for algorithm.
func GenerateKey(algorithm string) (*PrivateKey, error) {
	var key crypto.Signer
	var err error
	switch algorithm {
	case Ed25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case SM2SM3:
		key, err = sm2.GenerateKey(rand.Reader)
	default:
		return nil, unknownAlgorithm(algorithm)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", algorithm, err)
	}
	return newPrivateKey(key)
}

// ParsePrivateKey reads a PKCS#8 private key, PEM ("PRIVATE KEY", as `openssl genpkey -algorithm ed25519` or
// `-algorithm SM2` writes it) or DER.
func ParsePrivateKey(data []byte) (*PrivateKey, error) {
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("PEM block %q is not a PKCS#8 PRIVATE KEY", block.Type)
		}
		data = block.Bytes
	}
	parsed, err := smx509.ParsePKCS8PrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS#8 private key: %w", err)
	}
	switch key := parsed.(type) {
	case ed25519.PrivateKey:
		return newPrivateKey(key)
	case *sm2.PrivateKey:
		return newPrivateKey(key)
	default:
		return nil, fmt.Errorf("a %T key: use an Ed25519 or SM2 key", parsed)
	}
}

func newPrivateKey(key crypto.Signer) (*PrivateKey, error) {
	spki, err := smx509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	algorithm, err := algorithmOf(key.Public())
	if err != nil {
		return nil, err
	}
	return &PrivateKey{ID: keyID(spki), Algorithm: algorithm, key: key, spki: spki}, nil
}

// MarshalPKCS8 is the private key as PKCS#8 DER, for keeping it.
func (k *PrivateKey) MarshalPKCS8() ([]byte, error) {
	return smx509.MarshalPKCS8PrivateKey(k.key)
}

// PublicKey is the key's public half to publish, created at created.
func (k *PrivateKey) PublicKey(created time.Time) PublicKey {
	return PublicKey{ID: k.ID, Algorithm: k.Algorithm, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.spki})),
		Created: created.UTC(), key: k.key.Public()}
}

// Sign signs e's canonical encoding.
func (k *PrivateKey) Sign(e Event) ([]byte, error) {
	msg := e.Canonical()
	switch key := k.key.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(key, msg), nil
	case *sm2.PrivateKey:
		return key.SignWithSM2(rand.Reader, nil, msg) // nil: the default user id
	}
	return nil, unknownAlgorithm(k.Algorithm)
}

// SignHeader is Sign as the ce_signature header carries it.
func (k *PrivateKey) SignHeader(e Event) (string, error) {
	sig, err := k.Sign(e)
	return base64.StdEncoding.EncodeToString(sig), err
}

// keyID is the first 8 bytes of the SHA-256 of the SubjectPublicKeyInfo, in hex.
func keyID(spki []byte) string {
	sum := sha256.Sum256(spki)
	return hex.EncodeToString(sum[:8])
}

func algorithmOf(pub crypto.PublicKey) (string, error) {
	switch key := pub.(type) {
	case ed25519.PublicKey:
		return Ed25519, nil
	case *ecdsa.PublicKey:
		if sm2.IsSM2PublicKey(key) {
			return SM2SM3, nil
		}
	}
	return "", fmt.Errorf("a %T public key: use an Ed25519 or SM2 key", pub)
}

func unknownAlgorithm(algorithm string) error {
	return fmt.Errorf("signing algorithm %q: use %s or %s", algorithm, Ed25519, SM2SM3)
}

// PublicKey is a published key: a record of the keys topic, and an entry of the public keys file.
type PublicKey struct {
	ID        string    `json:"key_id"`
	Algorithm string    `json:"algorithm"`
	PEM       string    `json:"public_key"` // SubjectPublicKeyInfo, PEM "PUBLIC KEY"
	Created   time.Time `json:"created_at"`
	// Retired is when the bridge stopped signing new events with the key; events it signed before stay valid.
	Retired *time.Time `json:"retired_at"`
	key     crypto.PublicKey
}

// parse checks that the key is what it says (its algorithm, and its id derived from it) and keeps it parsed.
func (p *PublicKey) parse() error {
	block, _ := pem.Decode([]byte(p.PEM))
	if block == nil || block.Type != "PUBLIC KEY" {
		return fmt.Errorf("key %s: public_key is not a PEM PUBLIC KEY", p.ID)
	}
	key, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("key %s: %w", p.ID, err)
	}
	algorithm, err := algorithmOf(key)
	switch {
	case err != nil:
		return fmt.Errorf("key %s: %w", p.ID, err)
	case algorithm != p.Algorithm:
		return fmt.Errorf("key %s: algorithm %q, but the key is %s", p.ID, p.Algorithm, algorithm)
	case keyID(block.Bytes) != p.ID:
		return fmt.Errorf("key %s: the id does not belong to the key (its id is %s)", p.ID, keyID(block.Bytes))
	}
	p.key = key
	return nil
}

func (p PublicKey) verify(msg, sig []byte) bool {
	switch key := p.key.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(key, msg, sig)
	case *ecdsa.PublicKey:
		return sm2.VerifyASN1WithSM2(key, nil, msg, sig)
	}
	return false
}
