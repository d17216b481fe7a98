package pipeline

import (
	"errors"
	"fmt"
	"time"

	"hotline-bridge/handlers/inspect"
)

// InspectConfig is when bridge inspect calls a reading a warning or critical, and how often bridge run inspects.
type InspectConfig struct {
	// InspectInterval is how often bridge run inspects and keeps the report in bridge.inspection; 0 turns it off.
	InspectInterval time.Duration `koanf:"inspect_interval"`
	// InspectRetention is how long bridge.inspection keeps a report.
	InspectRetention          time.Duration `koanf:"inspect_retention"`
	InspectCaptureLagWarning  time.Duration `koanf:"inspect_capture_lag_warning"`
	InspectCaptureLagCritical time.Duration `koanf:"inspect_capture_lag_critical"`
	InspectOutboxAgeWarning   time.Duration `koanf:"inspect_outbox_age_warning"`
	InspectOutboxAgeCritical  time.Duration `koanf:"inspect_outbox_age_critical"`
	InspectParkedAgeWarning   time.Duration `koanf:"inspect_parked_age_warning"`
	// InspectQuarantineWindow: a row quarantined within it is a warning.
	InspectQuarantineWindow time.Duration `koanf:"inspect_quarantine_window"`
	// InspectGroupLagWarning is how many events a district consumer group may lag before a warning.
	InspectGroupLagWarning int64 `koanf:"inspect_group_lag_warning"`
	// InspectDiskFreeWarning and InspectDiskFreeCritical are percentages of the tablespace's file system free.
	InspectDiskFreeWarning  float64 `koanf:"inspect_disk_free_warning"`
	InspectDiskFreeCritical float64 `koanf:"inspect_disk_free_critical"`
	// InspectReconcileAgeWarning is how old the last reconciliation may be; 0 does not check.
	InspectReconcileAgeWarning time.Duration `koanf:"inspect_reconcile_age_warning"`
}

func inspectDefaults() map[string]any {
	return map[string]any{
		"inspect_interval":              "5m",
		"inspect_retention":             "720h",
		"inspect_capture_lag_warning":   "15m", // as the BridgeCaptureLagHigh alert
		"inspect_capture_lag_critical":  "1h",
		"inspect_outbox_age_warning":    "5m", // as the BridgeOutboxBacklogGrowing alert
		"inspect_outbox_age_critical":   "30m",
		"inspect_parked_age_warning":    "1h",
		"inspect_quarantine_window":     "24h",
		"inspect_group_lag_warning":     10000,
		"inspect_disk_free_warning":     20,
		"inspect_disk_free_critical":    10,
		"inspect_reconcile_age_warning": "3h", // three runs of the default reconcile_interval
	}
}

// validate reports every problem of the inspect_* keys at once.
func (c InspectConfig) validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.InspectInterval != 0 && c.InspectInterval < time.Minute, "inspect_interval must be 0 (off) or at least 1m, got %s", c.InspectInterval)
	check(c.InspectRetention < time.Hour, "inspect_retention must be at least 1h, got %s", c.InspectRetention)
	pairs := []struct {
		name              string
		warning, critical time.Duration
	}{
		{"inspect_capture_lag", c.InspectCaptureLagWarning, c.InspectCaptureLagCritical},
		{"inspect_outbox_age", c.InspectOutboxAgeWarning, c.InspectOutboxAgeCritical},
	}
	for _, p := range pairs {
		check(p.warning <= 0, "%s_warning must be positive, got %s", p.name, p.warning)
		check(p.critical < p.warning, "%s_critical (%s) must be at least %s_warning (%s)", p.name, p.critical, p.name, p.warning)
	}
	check(c.InspectParkedAgeWarning <= 0, "inspect_parked_age_warning must be positive, got %s", c.InspectParkedAgeWarning)
	check(c.InspectQuarantineWindow <= 0, "inspect_quarantine_window must be positive, got %s", c.InspectQuarantineWindow)
	check(c.InspectGroupLagWarning < 0, "inspect_group_lag_warning must not be negative, got %d", c.InspectGroupLagWarning)
	for name, v := range map[string]float64{"inspect_disk_free_warning": c.InspectDiskFreeWarning, "inspect_disk_free_critical": c.InspectDiskFreeCritical} {
		check(v < 0 || v > 100, "%s is a percentage, 0..100, got %g", name, v)
	}
	check(c.InspectDiskFreeCritical > c.InspectDiskFreeWarning, "inspect_disk_free_critical (%g%%) must not exceed inspect_disk_free_warning (%g%%)",
		c.InspectDiskFreeCritical, c.InspectDiskFreeWarning)
	check(c.InspectReconcileAgeWarning < 0, "inspect_reconcile_age_warning must not be negative (0: not checked), got %s", c.InspectReconcileAgeWarning)
	return errors.Join(errs...)
}

func (c InspectConfig) thresholds() inspect.Thresholds {
	return inspect.Thresholds{
		CaptureLagWarning: c.InspectCaptureLagWarning, CaptureLagCritical: c.InspectCaptureLagCritical,
		OutboxAgeWarning: c.InspectOutboxAgeWarning, OutboxAgeCritical: c.InspectOutboxAgeCritical,
		ParkedAgeWarning: c.InspectParkedAgeWarning, QuarantineWindow: c.InspectQuarantineWindow,
		GroupLagWarning: c.InspectGroupLagWarning, ReconcileAgeWarning: c.InspectReconcileAgeWarning,
		DiskFreeWarning: c.InspectDiskFreeWarning, DiskFreeCritical: c.InspectDiskFreeCritical,
	}
}
