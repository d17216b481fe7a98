package pipeline

import (
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"

	"hotline-bridge/infra/tracing"
)

// NewLogger writes human-readable structured logs. Nothing logged by the bridge carries row content, so personal
// data cannot leak through it.
func NewLogger(w io.Writer, level string) *slog.Logger {
	return NewLoggerAs(w, level, "text", false)
}

// NewLoggerAs writes logs in format: "json", "text", or "auto", which is text when stderr is a terminal (a person
// reads it) and JSON otherwise (a log collector parses it).
func NewLoggerAs(w io.Writer, level, format string, terminal bool) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" || (format == "auto" && !terminal) {
		return slog.New(tracing.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(tracing.LogHandler(slog.NewTextHandler(w, opts)))
}

// Logger is the configured logger on w, whose lines end up on stderr (w may be the progress display in front of
// it): log_format auto looks at stderr itself.
func (c Config) Logger(w io.Writer) *slog.Logger {
	return NewLoggerAs(w, c.LogLevel, c.LogFormat, term.IsTerminal(int(os.Stderr.Fd())))
}
