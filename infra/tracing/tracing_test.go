package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"hotline-bridge/infra/dev/localjaeger"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/tracing"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func clearOTelEnv(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER"} {
		t.Setenv(k, "")
	}
}

func TestWithoutAnEndpointNothingIsInstalled(t *testing.T) {
	clearOTelEnv(t)
	before := otel.GetTracerProvider()
	stop, err := tracing.Setup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	if tracing.Enabled() || otel.GetTracerProvider() != before {
		t.Fatal("with no OTLP endpoint set, Setup installed a provider")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	if tracing.Enabled() {
		t.Fatal("OTEL_TRACES_EXPORTER=none still enables tracing")
	}
}

func TestAnUnknownProtocolIsReported(t *testing.T) {
	clearOTelEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	_, err := tracing.Setup(context.Background())
	if err == nil || !strings.Contains(err.Error(), `OTEL_EXPORTER_OTLP_PROTOCOL "http/json"`) {
		t.Fatalf("error %v, want one naming the protocol", err)
	}
}

// Spans reach a real Jaeger over either OTLP transport, as service hotline-bridge, once shutdown has flushed them.
func TestSpansReachJaegerOverBothProtocols(t *testing.T) {
	j := testenv.Jaeger(t)
	for protocol, endpoint := range map[string]string{"http/protobuf": j.OTLPEndpoint(), "grpc": j.OTLPGRPCEndpoint()} {
		t.Run(strings.ReplaceAll(protocol, "/", "_"), func(t *testing.T) {
			clearOTelEnv(t)
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
			stop, err := tracing.Setup(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			_, span := otel.Tracer("test").Start(context.Background(), "probe "+protocol, trace.WithAttributes(attribute.String("probe", protocol)))
			span.End()
			if err := stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := waitForTrace(t, j, span.SpanContext().TraceID().String())
			if len(got.Spans) != 1 || got.Spans[0].OperationName != "probe "+protocol || got.Spans[0].Tag("probe") != protocol {
				t.Fatalf("jaeger holds %+v", got.Spans)
			}
			if service := got.Service(got.Spans[0]); service != tracing.ServiceName {
				t.Fatalf("service %q, want %q", service, tracing.ServiceName)
			}
		})
	}
}

func waitForTrace(t *testing.T, j *localjaeger.Jaeger, id string) localjaeger.Trace {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		tr, found, err := j.GetTrace(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if found {
			return tr
		}
		select {
		case <-ctx.Done():
			t.Fatalf("trace %s never reached jaeger", id)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestLogLinesInASpanCarryItsTraceID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "sort")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4}, TraceFlags: trace.FlagsSampled})
	log.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "row quarantined", "row_id", "R1")
	log.InfoContext(context.Background(), "capture caught up")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first["trace_id"] != sc.TraceID().String() || first["component"] != "sort" || first["row_id"] != "R1" {
		t.Errorf("line in a span: %v", first)
	}
	if _, ok := second["trace_id"]; ok {
		t.Errorf("line outside any span has a trace_id: %v", second)
	}
}
