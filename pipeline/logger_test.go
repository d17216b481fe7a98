package pipeline_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"hotline-bridge/pipeline"
)

// log_format auto writes JSON off a terminal, for a collector, and text on one, for a person; json and text are
// what they say whatever stderr is.
func TestLoggerFormatFollowsTheTerminal(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		format   string
		terminal bool
		json     bool
	}{
		{"auto", false, true}, {"auto", true, false},
		{"json", true, true}, {"json", false, true},
		{"text", false, false}, {"text", true, false},
	} {
		var out bytes.Buffer
		pipeline.NewLoggerAs(&out, "info", c.format, c.terminal).Warn("capture round failed", "table", "subject")
		pipeline.NewLoggerAs(&out, "info", c.format, c.terminal).Debug("below the level")
		line := strings.TrimSpace(out.String())
		var got map[string]any
		isJSON := json.Unmarshal([]byte(line), &got) == nil
		switch {
		case strings.Contains(line, "below the level") || strings.Count(line, "\n") != 0:
			t.Errorf("%s, terminal=%t: wrote %q; want the one warning", c.format, c.terminal, line)
		case c.json && (!isJSON || got["level"] != "WARN" || got["msg"] != "capture round failed" || got["table"] != "subject"):
			t.Errorf("%s, terminal=%t: wrote %q; want a JSON object with level, msg and table", c.format, c.terminal, line)
		case !c.json && (isJSON || !strings.Contains(line, `level=WARN msg="capture round failed" table=subject`)):
			t.Errorf("%s, terminal=%t: wrote %q; want key=value text", c.format, c.terminal, line)
		}
	}
}

func TestConfigRefusesUnknownLogFormatAndShortTransferLogRetention(t *testing.T) {
	t.Parallel()
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LogFormat != "auto" || cfg.TransferLogRetention != 180*24*time.Hour {
		t.Fatalf("defaults: log_format %q, transfer_log_retention %s; want auto and 180 days", cfg.LogFormat, cfg.TransferLogRetention)
	}
	cfg.LogFormat, cfg.TransferLogRetention = "xml", time.Minute
	err = cfg.Validate(pipeline.Needs{})
	for _, want := range []string{`log_format must be auto, json or text, got "xml"`, "transfer_log_retention must be at least 1h, got 1m0s"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
}
