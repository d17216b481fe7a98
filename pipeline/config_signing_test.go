package pipeline_test

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"hotline-bridge/events/signing"
	"hotline-bridge/pipeline"
)

// writeKeyFile writes a new key of algorithm as `openssl genpkey` would: PKCS#8 PEM.
func writeKeyFile(t *testing.T, algorithm string) (string, *signing.PrivateKey) {
	t.Helper()
	key, err := signing.GenerateKey(algorithm)
	if err != nil {
		t.Fatal(err)
	}
	der, err := key.MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), algorithm+".pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, key
}

func TestSigningKeysComeFromEverySourceAndDefaultToEd25519(t *testing.T) {
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Signing.Algorithm != signing.Ed25519 || cfg.Signing.KeyFile != "" {
		t.Fatalf("default signing %+v, want ed25519 with a key kept in the store", cfg.Signing)
	}
	path, _ := writeKeyFile(t, signing.SM2SM3)
	t.Setenv("BRIDGE_SIGNING_KEY_FILE", path)
	flags := pflag.NewFlagSet("bridge", pflag.ContinueOnError)
	flags.String("signing-algorithm", "", "")
	if err := flags.Parse([]string{"--signing-algorithm=sm2-sm3"}); err != nil {
		t.Fatal(err)
	}
	if cfg, err = pipeline.LoadConfig("", flags); err != nil {
		t.Fatal(err)
	}
	if cfg.Signing.Algorithm != signing.SM2SM3 || cfg.Signing.KeyFile != path {
		t.Fatalf("signing from environment and flag: %+v", cfg.Signing)
	}
	if err := cfg.Validate(pipeline.Needs{}); err != nil {
		t.Fatalf("an SM2 key file with signing_algorithm sm2-sm3 refused: %v", err)
	}
}

func TestSigningKeysAreValidatedWithEveryOtherProblem(t *testing.T) {
	t.Parallel()
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.BatchSize = 0
	cfg.Signing.Algorithm = "rsa"
	cfg.Signing.KeyFile = filepath.Join(t.TempDir(), "missing.pem")
	err = cfg.Validate(pipeline.Needs{})
	for _, want := range []string{`signing_algorithm must be ed25519 or sm2-sm3, got "rsa"`, "signing_key_file: open ", "batch_size must be"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the report lacks %q:\n%v", want, err)
		}
	}

	ed25519File, _ := writeKeyFile(t, signing.Ed25519)
	cfg, _ = pipeline.LoadConfig("", nil)
	cfg.Signing.Algorithm, cfg.Signing.KeyFile = signing.SM2SM3, ed25519File
	want := "signing_key_file " + ed25519File + " holds an ed25519 key, but signing_algorithm is sm2-sm3"
	if err := cfg.Validate(pipeline.Needs{}); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a key file of the other algorithm: %v, want %q", err, want)
	}

	notAKey := filepath.Join(t.TempDir(), "cert.pem")
	secret := "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"
	if err := os.WriteFile(notAKey, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Signing.Algorithm, cfg.Signing.KeyFile = signing.Ed25519, notAKey
	err = cfg.Validate(pipeline.Needs{})
	if err == nil || !strings.Contains(err.Error(), "signing_key_file "+notAKey+": not a PKCS#8 private key") ||
		strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("a file that is no key: %v; want it named, its content not quoted", err)
	}
}
