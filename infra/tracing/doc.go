// Package tracing sets up OpenTelemetry tracing from the standard OTEL_* environment and carries the trace id
// into the logs. The spans themselves are started where the work happens, through the global provider.
package tracing
