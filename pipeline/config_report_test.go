package pipeline_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"hotline-bridge/pipeline"
)

func TestReportDirFromFileEnvironmentAndFlagsAndRefusedWhenAFile(t *testing.T) {
	if cfg, _ := pipeline.LoadConfig("", nil); cfg.ReportDir != "" {
		t.Errorf("report_dir defaults to %q, want empty (no daily report)", cfg.ReportDir)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(file, []byte("report_dir: /var/lib/bridge/reports\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := pipeline.LoadConfig(file, nil)
	if err != nil || cfg.ReportDir != "/var/lib/bridge/reports" {
		t.Fatalf("from the file: %q (%v)", cfg.ReportDir, err)
	}
	if err := cfg.Validate(pipeline.Needs{}); err != nil {
		t.Errorf("a report_dir not there yet (the daily report creates it) refused: %v", err)
	}
	t.Setenv("BRIDGE_REPORT_DIR", filepath.Join(dir, "from-env"))
	if cfg, err = pipeline.LoadConfig(file, nil); err != nil || cfg.ReportDir != filepath.Join(dir, "from-env") {
		t.Fatalf("from the environment: %q (%v)", cfg.ReportDir, err)
	}
	flags := pflag.NewFlagSet("test", pflag.ContinueOnError)
	flags.String("report-dir", "", "")
	if err := flags.Parse([]string{"--report-dir=" + file}); err != nil {
		t.Fatal(err)
	}
	if cfg, err = pipeline.LoadConfig(file, flags); err != nil || cfg.ReportDir != file {
		t.Fatalf("from the flag: %q (%v)", cfg.ReportDir, err)
	}
	err = cfg.Validate(pipeline.Needs{})
	if err == nil || !strings.Contains(err.Error(), "report_dir (BRIDGE_REPORT_DIR) "+file+" is a file, not a directory") {
		t.Errorf("a report_dir that is a file: %v", err)
	}
}
