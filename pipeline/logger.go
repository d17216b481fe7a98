package pipeline

import (
	"io"
	"log/slog"

	"hotline-bridge/infra/tracing"
)

// NewLogger writes human-readable structured logs. Nothing logged by the bridge carries row content, so personal
// data cannot leak through it.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(tracing.LogHandler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})))
}
