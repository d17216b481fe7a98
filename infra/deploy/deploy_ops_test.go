package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/handlers/sort"
	"hotline-bridge/infra/metrics"
	"hotline-bridge/pipeline"
)

const (
	exampleConfig = "config.example.yaml"
	serviceFile   = "systemd/hotline-bridge.service"
	dashboardFile = "grafana/hotline-bridge.json"
)

// configKeys are the koanf keys of pipeline.Config, squashed structs included: the keys a YAML file may set.
func configKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		tag := f.Tag.Get("koanf")
		if tag == ",squash" {
			keys = append(keys, configKeys(f.Type)...)
		} else if tag != "" {
			keys = append(keys, tag)
		}
	}
	return keys
}

// The example names every key of the configuration, and nothing that is not one: a key added to config.go
// without the example (or renamed in one of them) fails here.
func TestExampleConfigNamesEveryKeyOfTheConfig(t *testing.T) {
	var example map[string]any
	readYAML(t, exampleConfig, &example)
	want := slices.Sorted(slices.Values(configKeys(reflect.TypeFor[pipeline.Config]())))
	var got []string
	for k := range example {
		got = append(got, k)
	}
	slices.Sort(got)
	for _, k := range want {
		if _, ok := example[k]; !ok {
			t.Errorf("%s lacks the key %s of pipeline.Config", exampleConfig, k)
		}
	}
	for _, k := range got {
		if !slices.Contains(want, k) {
			t.Errorf("%s sets %s, which pipeline.Config does not have", exampleConfig, k)
		}
	}
}

// The example loads and validates as it is, and shows every default as the bridge has it (only the connections
// are the operator's to set).
func TestExampleConfigLoadsValidatesAndShowsTheDefaults(t *testing.T) {
	cfg, err := pipeline.LoadConfig(exampleConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(pipeline.Needs{Upstream: true, Store: true, Kafka: true}); err != nil {
		t.Fatalf("%s does not validate: %v", exampleConfig, err)
	}
	defaults, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]bool{"upstream_url": true, "store_url": true, "kafka_brokers": true}
	for key, value := range configValues(reflect.ValueOf(cfg)) {
		if def := configValues(reflect.ValueOf(defaults))[key]; !ours[key] && value != def {
			t.Errorf("%s: %s is %s, the default is %s", exampleConfig, key, value, def)
		}
	}
}

func configValues(v reflect.Value) map[string]string {
	out := map[string]string{}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		switch tag := f.Tag.Get("koanf"); tag {
		case ",squash":
			for k, val := range configValues(v.Field(i)) {
				out[k] = val
			}
		case "":
		default:
			out[tag] = fmt.Sprint(v.Field(i).Interface()) // a nil and an empty map both print map[]
		}
	}
	return out
}

// The unit parses (systemd-analyze verify knows every directive), reloads with SIGHUP, reads its secrets from
// an environment file, restarts on failure, and is hardened: systemd's own exposure score stays under 2.0.
func TestSystemdUnitIsValidAndHardened(t *testing.T) {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is not on PATH: install Debian's systemd package")
	}
	for _, unit := range []string{serviceFile, "systemd/hotline-bridge-backup.service", "systemd/hotline-bridge-backup.timer"} {
		out, _ := exec.Command(bin, "verify", "--man=no", unit).CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			// The binary and the user exist only where it is installed; every other complaint is the file's.
			if line != "" && !strings.Contains(line, "is not executable") {
				t.Errorf("systemd-analyze verify %s: %s", unit, line)
			}
		}
	}
	out, err := exec.Command(bin, "security", "--offline=yes", "--threshold=20", serviceFile).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: exposure over 2.0 (%v):\n%s", err, lastLinesOf(string(out), 3))
	}
	body, err := os.ReadFile(serviceFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ExecStart=/usr/local/bin/bridge run --config /etc/hotline-bridge/config.yaml",
		"ExecReload=/bin/kill -HUP $MAINPID", "EnvironmentFile=/etc/hotline-bridge/secrets.env", "Restart=on-failure",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "User=hotline-bridge",
	} {
		if !strings.Contains(string(body), "\n"+want+"\n") {
			t.Errorf("%s lacks %q", serviceFile, want)
		}
	}
	// The example environment file sets the URLs (with their passwords) as the bridge reads them.
	env, err := os.ReadFile("systemd/secrets.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"BRIDGE_UPSTREAM_URL=postgres://", "BRIDGE_STORE_URL=postgres://"} {
		if !strings.Contains(string(env), "\n"+key) {
			t.Errorf("secrets.env.example lacks %s", key)
		}
	}
}

func lastLinesOf(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// exportedMetrics are the names of every metric family the bridge serves on /metrics.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New()
	for _, c := range []prometheus.Collector{
		metrics.NewStateCollector(fixedState{}),
		metrics.NewHealth(metrics.Dependency{Name: "store", Probe: func(context.Context) error { return nil }}),
	} {
		if err := m.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	// A labelled counter is served once it has a label value: count one of everything.
	m.CapturePage(capture.Page{Table: events.Registration, Read: 1, Published: 1})
	m.Sorted(sort.Tally{Decisions: map[sort.Verdict]int{{Table: events.Registration, Unit: "420106"}: 1}, Quarantined: map[string]int{events.Registration: 1}})
	m.Forwarded([]events.Distribution{{Unit: "420106"}})
	m.OrphansQuarantined(1)
	m.PublishFailed(nil)
	rec := httptest.NewRecorder()
	m.Handler(slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	exported := map[string]bool{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			exported[strings.Fields(name)[0]] = true
		}
	}
	return exported
}

type dashboard struct {
	Panels []struct {
		Title   string
		Targets []struct{ Expr string }
	}
}

// grafanaRange stands in for Grafana's interval variables, so that the expressions are plain PromQL.
var grafanaRange = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// The dashboard queries only metrics the bridge exports (or Prometheus's own up), in PromQL promtool accepts,
// and shows every bridge_* metric somewhere.
func TestGrafanaDashboardQueriesTheBridgesMetrics(t *testing.T) {
	body, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	exported := exportedMetrics(t)
	names := regexp.MustCompile(`\b((?:bridge|go|process)_[a-z_]+)\b`)
	used := map[string]bool{}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for j, target := range p.Targets {
			expr := grafanaRange.Replace(target.Expr)
			for _, name := range names.FindAllString(expr, -1) {
				used[name] = true
				if !exported[name] {
					t.Errorf("panel %q queries %s, which the bridge does not export", p.Title, name)
				}
			}
			quoted, _ := yaml.Marshal(expr)
			fmt.Fprintf(&rules, "      - record: panel_%d_%d\n        expr: %s", i, j, quoted)
		}
	}
	for name := range exported {
		if strings.HasPrefix(name, "bridge_") && !used[name] {
			t.Errorf("%s shows no panel of %s", dashboardFile, name)
		}
	}
	path := filepath.Join(t.TempDir(), "dashboard_rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := promtool(t, "check", "rules", path); !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check rules on the dashboard's queries:\n%s", out)
	}
}
