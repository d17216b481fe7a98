package pipeline_test

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"hotline-bridge/pipeline"
)

func TestReconcileConfigFromFileEnvironmentAndFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bridge.yaml")
	if err := os.WriteFile(file, []byte("consumer_groups:\n  '420106': wuchang-sync\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := pipeline.LoadConfig(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"420106": "wuchang-sync"}; !maps.Equal(cfg.ConsumerGroups, want) || cfg.ReconcileInterval != time.Hour {
		t.Fatalf("from the file: groups %v, interval %s; want %v and the default 1h", cfg.ConsumerGroups, cfg.ReconcileInterval, want)
	}
	t.Setenv("BRIDGE_CONSUMER_GROUPS", "420102=jiangan, dhgx=guanggu")
	flags := pflag.NewFlagSet("test", pflag.ContinueOnError)
	flags.Duration("reconcile-interval", 0, "")
	if err := flags.Parse([]string{"--reconcile-interval=0"}); err != nil {
		t.Fatal(err)
	}
	if cfg, err = pipeline.LoadConfig("", flags); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"420102": "jiangan", "dhgx": "guanggu"}; !maps.Equal(cfg.ConsumerGroups, want) || cfg.ReconcileInterval != 0 {
		t.Fatalf("from the environment and flags: groups %v, interval %s; want %v and 0 (off)", cfg.ConsumerGroups, cfg.ReconcileInterval, want)
	}
	if err := cfg.Validate(pipeline.Needs{}); err != nil {
		t.Fatalf("a valid reconcile config refused: %v", err)
	}
}

func TestReconcileConfigReportsUnknownUnitsAndBadIntervals(t *testing.T) {
	t.Setenv("BRIDGE_CONSUMER_GROUPS", "420199=nowhere,420106")
	t.Setenv("BRIDGE_RECONCILE_INTERVAL", "30s")
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate(pipeline.Needs{})
	if err == nil {
		t.Fatal("an invalid reconcile config was accepted")
	}
	for _, want := range []string{
		"reconcile_interval must be 0 (off) or at least 1m, got 30s",
		`consumer_groups: "420199" is not a unit code`,
		`consumer_groups: unit "420106" has no group id (write unit=group)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
}

func TestSourceReconcileConfigDefaultsAndReportsEveryBadKey(t *testing.T) {
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReconcileWindow != 24*time.Hour || cfg.ReconcileDepth != 720*time.Hour || cfg.ReconcileRowsPerS != 5000 {
		t.Fatalf("defaults: window %s, depth %s, rows/s %d; want 24h, 720h, 5000", cfg.ReconcileWindow, cfg.ReconcileDepth, cfg.ReconcileRowsPerS)
	}
	t.Setenv("BRIDGE_RECONCILE_WINDOW", "48h")
	t.Setenv("BRIDGE_RECONCILE_DEPTH", "24h")
	t.Setenv("BRIDGE_RECONCILE_ROWS_PER_S", "0")
	if cfg, err = pipeline.LoadConfig("", nil); err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate(pipeline.Needs{})
	for _, want := range []string{
		"reconcile_depth must be at least reconcile_window (48h0m0s), got 24h0m0s",
		"reconcile_rows_per_s must be at least 1, got 0",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
}
