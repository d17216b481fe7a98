package pipeline_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"hotline-bridge/pipeline"
)

// The security keys are read from the file, BRIDGE_* variables and flags like every key, and every problem
// with them — and a malformed kafka_version, once retried forever as "cannot reach kafka" — is reported at once.
func TestKafkaSecurityKeysAreValidatedAllAtOnce(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(file, []byte("kafka_security_protocol: SASL_SSL\nkafka_sasl_username: bridge\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BRIDGE_KAFKA_SASL_PASSWORD_FILE", filepath.Join(dir, "missing.password"))
	flags := pflag.NewFlagSet("bridge", pflag.ContinueOnError)
	flags.String("kafka-sasl-mechanism", "", "")
	flags.String("kafka-tls-cert-file", "", "")
	flags.String("kafka-version", "", "")
	if err := flags.Parse([]string{"--kafka-sasl-mechanism=PLAIN", "--kafka-tls-cert-file=" + file, "--kafka-version=4.x"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := pipeline.LoadConfig(file, flags)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SecurityProtocol != "SASL_SSL" || cfg.SASLUsername != "bridge" || cfg.SASLMechanism != "PLAIN" ||
		!strings.HasSuffix(cfg.SASLPasswordFile, "missing.password") || cfg.TLSCertFile != file {
		t.Fatalf("security keys from file, environment and flags: %+v", cfg.KafkaSecurity)
	}
	cfg.KafkaBrokers = []string{"broker:9093"}
	err = cfg.Validate(pipeline.Needs{Kafka: true})
	if err == nil {
		t.Fatal("an invalid security configuration was accepted")
	}
	for _, want := range []string{
		`kafka_version "4.x" is not a Kafka release such as 4.1.0`,
		`kafka_sasl_mechanism must be SCRAM-SHA-512 or SCRAM-SHA-256, got "PLAIN"`,
		"kafka_sasl_password_file: open " + filepath.Join(dir, "missing.password"),
		"kafka_tls_cert_file and kafka_tls_key_file go together",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the report lacks %q:\n%v", want, err)
		}
	}

	os.Unsetenv("BRIDGE_KAFKA_SASL_PASSWORD_FILE") // t.Setenv restores it at the end
	plain, _ := pipeline.LoadConfig("", nil)
	plain.KafkaBrokers = []string{"broker:9092"}
	if err := plain.Validate(pipeline.Needs{Kafka: true}); err != nil {
		t.Fatalf("the default, PLAINTEXT, needs nothing more: %v", err)
	}
	plain.TLSCAFile, plain.SASLUsername, plain.SecurityProtocol = file, "bridge", "TLS"
	err = plain.Validate(pipeline.Needs{Kafka: true})
	for _, want := range []string{
		`kafka_security_protocol must be PLAINTEXT, SASL_PLAINTEXT, SASL_SSL or SSL, got "TLS"`,
		"kafka_sasl_username and kafka_sasl_password_file need kafka_security_protocol SASL_PLAINTEXT or SASL_SSL",
		"kafka_tls_* files need kafka_security_protocol SASL_SSL or SSL",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the report lacks %q:\n%v", want, err)
		}
	}
}
