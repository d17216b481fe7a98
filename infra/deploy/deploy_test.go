package deploy_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"hotline-bridge/infra/metrics"
)

const (
	rulesFile = "prometheus/alerts.yml"
	testsFile = "prometheus/alerts_test.yml"
)

// The alerts the issue asks for: capture lag, outbox growing, quarantine growing, not ready, publish errors, plus
// an instance that is down and orphans.
var wantAlerts = []string{
	"BridgeDown", "BridgeNotReady", "BridgeCaptureLagHigh", "BridgeOutboxBacklogGrowing",
	"BridgeQuarantineGrowing", "BridgeOrphansQuarantined", "BridgePublishErrors",
}

func promtool(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not on PATH: run the tests through the test command (go tool task test), which installs it with the Debian package prometheus")
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestAlertRulesAreValid(t *testing.T) {
	out := promtool(t, "check", "rules", rulesFile)
	if !strings.Contains(out, "SUCCESS: 7 rules found") {
		t.Fatalf("promtool check rules:\n%s", out)
	}
}

func TestAlertRulesPassTheirUnitTests(t *testing.T) {
	out := promtool(t, "test", "rules", testsFile)
	if !strings.Contains(out, "SUCCESS") || strings.Contains(out, "FAILED") {
		t.Fatalf("promtool test rules:\n%s", out)
	}
}

// Every alert has a unit test in which it fires and one in which it stays quiet.
func TestEveryAlertIsTestedFiringAndQuiet(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert string }
		}
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		}
	}
	readYAML(t, rulesFile, &rules)
	readYAML(t, testsFile, &tests)
	var defined []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			defined = append(defined, r.Alert)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(defined)), slices.Sorted(slices.Values(wantAlerts))) {
		t.Fatalf("%s defines %v, want %v", rulesFile, defined, wantAlerts)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, name := range wantAlerts {
		if !fires[name] || !quiet[name] {
			t.Errorf("%s: tested firing %v, tested quiet %v; want both", name, fires[name], quiet[name])
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The rules name only metrics the bridge exports: a renamed metric must not leave an alert that never fires.
func TestAlertRulesUseTheBridgesMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`\bbridge_[a-z_]+\b`).FindAllString(string(rules), -1)
	if len(used) == 0 {
		t.Fatal("the rules use no bridge metric")
	}
	for _, name := range used {
		if !exported[name] {
			t.Errorf("%s uses %s, which the bridge does not export", rulesFile, name)
		}
	}
}

type fixedState struct{}

func (fixedState) Backlogs(context.Context) (metrics.Backlogs, error) { return metrics.Backlogs{}, nil }

func (fixedState) CaptureLag(context.Context) (map[string]time.Duration, error) {
	return map[string]time.Duration{"registration": 0}, nil
}
