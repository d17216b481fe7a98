package localjaeger

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"hotline-bridge/infra/dev/localproc"
)

// Jaeger is a running all-in-one Jaeger with in-memory storage.
type Jaeger struct {
	dir   string
	proc  *localproc.Process
	ports ports
}

// ports are the loopback ports one Jaeger listens on.
type ports struct{ otlpGRPC, otlpHTTP, queryHTTP, queryGRPC, health int }

// errPortTaken marks a start that lost a free port to another process between picking and binding it.
var errPortTaken = errors.New("a port was taken")

// Start builds the binary if needed and starts Jaeger on free ports, retrying with new ones if a port was taken
// meanwhile. It returns once the health check answers.
func Start(ctx context.Context) (*Jaeger, error) {
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		j, err := start(ctx, bin)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 3 {
			return j, err
		}
	}
}

func start(ctx context.Context, bin string) (*Jaeger, error) {
	p, err := freePorts()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "localjaeger-")
	if err != nil {
		return nil, fmt.Errorf("jaeger dir: %w", err)
	}
	j := &Jaeger{dir: dir, ports: p}
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte(configYAML(p)), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", config, err)
	}
	cmd := exec.Command(bin, "--config", "file:"+config)
	cmd.Dir = dir
	if j.proc, err = localproc.Start(cmd, j.logPath(), syscall.SIGKILL); err != nil {
		return nil, err
	}
	if err := j.waitHealthy(ctx); err != nil {
		_ = j.proc.Kill()
		tail := localproc.LogTail(j.logPath())
		if strings.Contains(tail, "address already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start jaeger: %w\n--- jaeger log tail ---\n%s", err, tail)
	}
	return j, nil
}

func freePorts() (ports, error) {
	var got [5]int
	for i := range got {
		port, err := localproc.FreePort()
		if err != nil {
			return ports{}, err
		}
		got[i] = port
	}
	return ports{otlpGRPC: got[0], otlpHTTP: got[1], queryHTTP: got[2], queryGRPC: got[3], health: got[4]}, nil
}

// configYAML is the all-in-one configuration Jaeger runs without --config, reduced to what the tests use and on
// the given ports: 4317, 16686 and the rest may be taken on a shared machine. The batch processor's short timeout
// makes spans queryable soon after they arrive.
func configYAML(p ports) string {
	return fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:%d
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
      http:
        endpoint: 127.0.0.1:%d
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`, p.queryHTTP, p.queryGRPC, p.health, p.otlpGRPC, p.otlpHTTP)
}

// waitHealthy polls the health check until it answers 200 and the query API answers too.
func (j *Jaeger) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := j.ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-j.proc.Exited():
			return fmt.Errorf("jaeger exited during startup: %v", j.proc.Err())
		case <-ctx.Done():
			return fmt.Errorf("jaeger not healthy: %w (last attempt: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (j *Jaeger) ready(ctx context.Context) error {
	for _, url := range []string{fmt.Sprintf("http://127.0.0.1:%d/status", j.ports.health), j.QueryURL() + "/api/services"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
	}
	return nil
}

// OTLPEndpoint is the OTLP/HTTP base URL, for OTEL_EXPORTER_OTLP_ENDPOINT with the default protocol.
func (j *Jaeger) OTLPEndpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", j.ports.otlpHTTP) }

// OTLPGRPCEndpoint is the OTLP/gRPC address, for OTEL_EXPORTER_OTLP_PROTOCOL=grpc.
func (j *Jaeger) OTLPGRPCEndpoint() string {
	return fmt.Sprintf("http://127.0.0.1:%d", j.ports.otlpGRPC)
}

// QueryURL is the base URL of the query API (/api/traces, /api/services).
func (j *Jaeger) QueryURL() string { return fmt.Sprintf("http://127.0.0.1:%d", j.ports.queryHTTP) }

// Stop ends Jaeger (its spans are in memory only) and removes its directory.
func (j *Jaeger) Stop() error {
	err := j.proc.Stop(localproc.Step{Signal: syscall.SIGTERM, Grace: 10 * time.Second})
	return errors.Join(err, os.RemoveAll(j.dir))
}

func (j *Jaeger) logPath() string { return filepath.Join(j.dir, "jaeger.log") }
