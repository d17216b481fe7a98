package pipeline_test

import (
	"strings"
	"testing"
	"time"

	"hotline-bridge/pipeline"
)

func TestConfigReportsEveryBadInspectThresholdAtOnce(t *testing.T) {
	t.Parallel()
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.InspectInterval = 10 * time.Second
	cfg.InspectCaptureLagWarning, cfg.InspectCaptureLagCritical = time.Hour, time.Minute
	cfg.InspectOutboxAgeWarning = 0
	cfg.InspectDiskFreeWarning, cfg.InspectDiskFreeCritical = 5, 120
	cfg.InspectGroupLagWarning = -1
	err = cfg.Validate(pipeline.Needs{})
	if err == nil {
		t.Fatal("bad inspect thresholds were accepted")
	}
	for _, want := range []string{
		"inspect_interval must be 0 (off) or at least 1m, got 10s",
		"inspect_capture_lag_critical (1m0s) must be at least inspect_capture_lag_warning (1h0m0s)",
		"inspect_outbox_age_warning must be positive, got 0s",
		"inspect_disk_free_critical is a percentage, 0..100, got 120",
		"inspect_disk_free_critical (120%) must not exceed inspect_disk_free_warning (5%)",
		"inspect_group_lag_warning must not be negative, got -1",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	defaults, _ := pipeline.LoadConfig("", nil)
	if err := defaults.Validate(pipeline.Needs{}); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}
