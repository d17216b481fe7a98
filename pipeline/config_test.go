package pipeline_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"hotline-bridge/pipeline"
)

func TestConfigReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	units := filepath.Join(t.TempDir(), "units.yaml")
	if err := os.WriteFile(units, []byte("units:\n  - code: Bad-Code\n    name: x\n    division_codes: [\"4201\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.StoreURL = "mysql://root:secret@db/x"
	cfg.KafkaBrokers = []string{"nocolon"}
	cfg.BatchSize = 0
	cfg.StoreSchema = "Wuhan-Store"
	cfg.Units = units
	cfg.KafkaSessionTimeout = 500 * time.Millisecond
	err = cfg.Validate(pipeline.Needs{Upstream: true, Store: true, Kafka: true})
	if err == nil {
		t.Fatal("an invalid configuration was accepted")
	}
	for _, want := range []string{
		"upstream_url (BRIDGE_UPSTREAM_URL) is required",
		"store_url (BRIDGE_STORE_URL) must be a postgres://",
		`kafka_brokers: "nocolon" is not host:port`,
		"batch_size must be 1..100000, got 0",
		`store_schema "Wuhan-Store"`,
		`code must match [a-z0-9]+`,
		`division code "4201" is not six digits`,
		"kafka_session_timeout must be 1s..30m",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows a password:\n%v", err)
	}
}

func TestConfigSourcesFileThenEnvironmentThenFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bridge.yaml")
	yaml := "topic_prefix: from-file\nbatch_size: 10\npoll_interval: 3s\nkafka_brokers: [a:1]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BRIDGE_BATCH_SIZE", "20")
	t.Setenv("BRIDGE_KAFKA_BROKERS", "b:1,c:2")
	flags := pflag.NewFlagSet("test", pflag.ContinueOnError)
	flags.String("topic-prefix", "", "")
	flags.Int("batch-size", 0, "")
	if err := flags.Parse([]string{"--batch-size=30"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := pipeline.LoadConfig(file, flags)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TopicPrefix != "from-file" || cfg.BatchSize != 30 || cfg.PollInterval != 3*time.Second ||
		strings.Join(cfg.KafkaBrokers, ",") != "b:1,c:2" || cfg.MaxCommitDelay != 5*time.Minute {
		t.Fatalf("merged config %+v", cfg)
	}
}

func TestConfigHTTPAddrIsHostPortOrEmpty(t *testing.T) {
	t.Parallel()
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:9464" {
		t.Fatalf("default http_addr %q, want 127.0.0.1:9464", cfg.HTTPAddr)
	}
	for addr, ok := range map[string]bool{"": true, ":9464": true, "0.0.0.0:0": true, "9464": false, "localhost:http": false, "127.0.0.1:70000": false} {
		cfg.HTTPAddr = addr
		err := cfg.Validate(pipeline.Needs{})
		if ok != (err == nil) {
			t.Errorf("http_addr %q: Validate = %v, want accepted %v", addr, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "http_addr (BRIDGE_HTTP_ADDR)") {
			t.Errorf("http_addr %q: the error does not name the key: %v", addr, err)
		}
	}
}
