package pipeline_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"hotline-bridge/pipeline"
)

// The encryption keys come from the file, BRIDGE_* variables and flags like every key; a short key file, a missing
// old key file and an unknown algorithm are reported at once, with the rest, and no key's content.
func TestEncryptionKeysAreValidatedAllAtOnce(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("0123456789abcdef0123456789abcde"), 0o600); err != nil { // 31 bytes
		t.Fatal(err)
	}
	file := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(file, []byte("encryption_key_file: "+short+"\nbatch_size: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BRIDGE_ENCRYPTION_OLD_KEY_FILES", filepath.Join(dir, "gone.key")+","+short)
	flags := pflag.NewFlagSet("bridge", pflag.ContinueOnError)
	flags.String("encryption-algorithm", "", "")
	if err := flags.Parse([]string{"--encryption-algorithm=DES"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := pipeline.LoadConfig(file, flags)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Encryption.KeyFile != short || len(cfg.Encryption.OldKeyFiles) != 2 || cfg.Encryption.Algorithm != "DES" {
		t.Fatalf("encryption keys from file, environment and flags: %+v", cfg.Encryption)
	}
	err = cfg.Validate(pipeline.Needs{})
	if err == nil {
		t.Fatal("invalid encryption settings were accepted")
	}
	for _, want := range []string{
		`encryption_algorithm must be AES-256-GCM or SM4-GCM, got "DES"`,
		"encryption_key_file " + short + " holds 31 bytes; an encryption key is exactly 32 random bytes (head -c 32 /dev/urandom > FILE)",
		"encryption_old_key_files: open " + filepath.Join(dir, "gone.key"),
		"encryption_old_key_files " + short + " holds 31 bytes",
		"batch_size must be 1..100000, got 0",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the report lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "0123456789abcdef") {
		t.Errorf("the report shows a key's content:\n%v", err)
	}

	os.Unsetenv("BRIDGE_ENCRYPTION_OLD_KEY_FILES") // t.Setenv restores it at the end
	plain, _ := pipeline.LoadConfig("", nil)
	if err := plain.Validate(pipeline.Needs{}); err != nil || plain.Encryption.Algorithm != "AES-256-GCM" || plain.Encryption.KeyFile != "" {
		t.Fatalf("the default (no key, AES-256-GCM) must be valid: %+v, %v", plain.Encryption, err)
	}
}
