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

func TestGatewayConfigFromFileEnvironmentAndFlags(t *testing.T) {
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if g := cfg.Gateway; g.GatewayAddr != "127.0.0.1:8315" || g.GatewayEnabled || g.GatewayHotline != "12345" ||
		g.GatewayMaxBody != 65536 || g.GatewayRate != 10 || g.GatewayBurst != 20 || g.GatewayRequestTimeout != 10*time.Second ||
		g.GatewayConfirmInterval != 5*time.Second {
		t.Fatalf("defaults %+v", g)
	}
	file := filepath.Join(t.TempDir(), "bridge.yaml")
	if err := os.WriteFile(file, []byte("gateway_addr: 0.0.0.0:9000\ngateway_rate: 2.5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BRIDGE_GATEWAY_ENABLED", "true")
	t.Setenv("BRIDGE_GATEWAY_HOTLINE", "hotline12345")
	flags := pflag.NewFlagSet("test", pflag.ContinueOnError)
	flags.Int64("gateway-max-body", 0, "")
	if err := flags.Parse([]string{"--gateway-max-body=2048"}); err != nil {
		t.Fatal(err)
	}
	if cfg, err = pipeline.LoadConfig(file, flags); err != nil {
		t.Fatal(err)
	}
	if g := cfg.Gateway; g.GatewayAddr != "0.0.0.0:9000" || g.GatewayRate != 2.5 || !g.GatewayEnabled ||
		g.GatewayHotline != "hotline12345" || g.GatewayMaxBody != 2048 {
		t.Fatalf("from file, environment and flags: %+v", g)
	}
	if err := cfg.Validate(pipeline.Needs{}); err != nil {
		t.Fatalf("a valid gateway config refused: %v", err)
	}
}

func TestGatewayConfigReportsEveryBadKeyAtOnce(t *testing.T) {
	for key, value := range map[string]string{
		"ADDR": "8315", "HOTLINE": "420106", "MAX_BODY": "10", "RATE": "0", "BURST": "0",
		"REQUEST_TIMEOUT": "1ms", "CONFIRM_INTERVAL": "1ms",
	} {
		t.Setenv("BRIDGE_GATEWAY_"+key, value)
	}
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate(pipeline.Needs{})
	if err == nil {
		t.Fatal("an invalid gateway config was accepted")
	}
	for _, want := range []string{
		`gateway_addr (BRIDGE_GATEWAY_ADDR) "8315": want host:port`,
		`gateway_hotline "420106" is a unit code`,
		"gateway_max_body must be 1024..16777216 bytes, got 10",
		"gateway_rate must be positive",
		"gateway_burst must be at least 1, got 0",
		"gateway_request_timeout must be 100ms..5m, got 1ms",
		"gateway_confirm_interval must be at least 100ms, got 1ms",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
}
