package pipeline

import (
	"errors"
	"fmt"
	"os"

	"hotline-bridge/events/signing"
)

// Signing is how the bridge signs distribution events. Without a key file the bridge makes a key of Algorithm on
// its first start and keeps it in its own database, so that every deployment signs and all its instances sign
// alike.
type Signing struct {
	Algorithm string `koanf:"signing_algorithm"` // ed25519 or sm2-sm3
	KeyFile   string `koanf:"signing_key_file"`  // PKCS#8 PEM private key; empty: the key kept in the store
}

// validate reports an unknown algorithm, and a key file that cannot be read, is no key, or is of another
// algorithm than the one configured.
func (s Signing) validate() error {
	var errs []error
	if !contains(signing.Algorithms, s.Algorithm) {
		errs = append(errs, fmt.Errorf("signing_algorithm must be %s or %s, got %q", signing.Ed25519, signing.SM2SM3, s.Algorithm))
	}
	if s.KeyFile == "" {
		return errors.Join(errs...)
	}
	key, err := s.fileKey()
	switch {
	case err != nil:
		errs = append(errs, err)
	case key.Algorithm != s.Algorithm && len(errs) == 0:
		errs = append(errs, fmt.Errorf("signing_key_file %s holds an %s key, but signing_algorithm is %s: make them agree", s.KeyFile, key.Algorithm, s.Algorithm))
	}
	return errors.Join(errs...)
}

// fileKey reads signing_key_file; its errors name the file, never its content.
func (s Signing) fileKey() (*signing.PrivateKey, error) {
	data, err := os.ReadFile(s.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("signing_key_file: %w", err)
	}
	key, err := signing.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("signing_key_file %s: %w (write one with: openssl genpkey -algorithm ed25519 -out FILE)", s.KeyFile, err)
	}
	return key, nil
}
