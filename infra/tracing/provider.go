package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// ServiceName is the service.name of every span, unless OTEL_SERVICE_NAME says otherwise.
const ServiceName = "hotline-bridge"

// Setup installs a tracer provider that exports over OTLP when the standard environment names an endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). Everything else the specification defines
// — sampler, headers, timeouts, TLS, batching, resource attributes — the SDK and the exporter read themselves.
// Without an endpoint, or with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, it installs nothing: the
// global provider stays the no-op one and spans cost next to nothing. The returned shutdown flushes the spans
// still buffered and puts the previous provider back.
func Setup(ctx context.Context) (shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	if !Enabled() {
		return noop, nil
	}
	exporter, err := newExporter(ctx)
	if err != nil {
		return noop, err
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName(ServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the defaults above
	)
	if err != nil {
		return noop, fmt.Errorf("tracing resource: %w", err)
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res),
		sdktrace.WithRawSpanLimits(spanLimits()))
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return func(ctx context.Context) error {
		otel.SetTracerProvider(previous)
		if err := provider.Shutdown(ctx); err != nil {
			return fmt.Errorf("flush spans: %w", err)
		}
		return nil
	}, nil
}

// Enabled reports whether the environment asks for spans to be exported.
func Enabled() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || os.Getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// newExporter picks the OTLP transport by OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL. The specification's default is
// http/protobuf, which needs no gRPC connection; grpc is there for collectors that only listen on 4317.
func newExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exporter sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		exporter, err = otlptracehttp.New(ctx)
	case "grpc":
		exporter, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: %w", protocol, errProtocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP %s trace exporter: %w", protocol, err)
	}
	return exporter, nil
}

var errProtocol = errors.New("this bridge exports traces over grpc or http/protobuf")

// MaxLinks is how many links a span keeps unless OTEL_SPAN_LINK_COUNT_LIMIT says otherwise: a unit-topic send span
// links the create span of every record of its batch (up to the forwarder's 1,000), where the SDK's default keeps 128.
const MaxLinks = 1000

func spanLimits() sdktrace.SpanLimits {
	limits := sdktrace.NewSpanLimits() // the OTEL_SPAN_* environment
	if os.Getenv("OTEL_SPAN_LINK_COUNT_LIMIT") == "" {
		limits.LinkCountLimit = MaxLinks
	}
	return limits
}
