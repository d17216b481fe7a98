package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/handlers/distribute"
	"hotline-bridge/infra/postgres"
)

// The two transfer logs `bridge logs` prints.
const (
	DownloadLog     = "download"
	DistributionLog = "distribution"
)

// LogsOptions selects and formats what `bridge logs` prints.
type LogsOptions struct {
	Log string // DownloadLog or DistributionLog
	// Since and Until bound the entries' start: RFC 3339, a date (its midnight, local time) or a span back from
	// now ("90m", "24h", "7d"). Since defaults to 24h, Until to now.
	Since, Until string
	Table        string // download log: one table
	Unit         string // distribution log: one unit
	Detail       bool   // every entry instead of a line per hour
	JSON, CSV    bool   // one JSON object per line, or CSV with a header
}

// logsQuery is LogsOptions checked and resolved.
type logsQuery struct {
	log    string
	filter postgres.LogFilter
	detail bool
	format string
}

// check resolves the options, reporting every problem at once.
func (o LogsOptions) check(cfg Config, now time.Time) (logsQuery, error) {
	q := logsQuery{log: o.Log, detail: o.Detail, format: "text",
		filter: postgres.LogFilter{Table: o.Table, Unit: o.Unit}}
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.Log != DownloadLog && o.Log != DistributionLog, "say which log: download or distribution, got %q", o.Log)
	check(o.Table != "" && o.Log == DistributionLog, "--table selects download log entries; the distribution log is per --unit")
	check(o.Unit != "" && o.Log == DownloadLog, "--unit selects distribution log entries; the download log is per --table")
	if _, ok := events.KindByTable(o.Table); o.Table != "" && !ok {
		errs = append(errs, fmt.Errorf("--table %q is not one of the twelve kinds (%s)", o.Table, strings.Join(tableNames(), ", ")))
	}
	if o.Unit != "" {
		errs = append(errs, cfg.checkUnit(o.Unit))
	}
	check(o.JSON && o.CSV, "--json and --csv exclude each other")
	if o.JSON {
		q.format = "json"
	} else if o.CSV {
		q.format = "csv"
	}
	var err error
	if q.filter.Since, err = parseWhen(cmp.Or(o.Since, "24h"), now); err != nil {
		errs = append(errs, fmt.Errorf("--since: %w", err))
	}
	if q.filter.Until, err = parseWhen(cmp.Or(o.Until, "0s"), now); err != nil {
		errs = append(errs, fmt.Errorf("--until: %w", err))
	}
	check(!q.filter.Since.IsZero() && !q.filter.Until.IsZero() && !q.filter.Since.Before(q.filter.Until),
		"--since %s is not before --until %s", q.filter.Since.Format(time.RFC3339), q.filter.Until.Format(time.RFC3339))
	return q, errors.Join(errs...)
}

func tableNames() []string {
	names := make([]string, len(events.Catalogue))
	for i, k := range events.Catalogue {
		names[i] = k.Table
	}
	return names
}

func (c Config) checkUnit(unit string) error {
	units, err := c.units()
	if err != nil {
		return err
	}
	codes := append(units.Codes(), events.BroadcastUnit)
	if !slices.Contains(codes, unit) {
		return fmt.Errorf("--unit %q is not a unit code (%s)", unit, strings.Join(codes, ", "))
	}
	return nil
}

// parseWhen reads an RFC 3339 time, a date (its local midnight) or a span back from now: a Go duration or whole
// days ("7d").
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	ago, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		ago = time.Duration(n) * 24 * time.Hour
	}
	if err != nil || ago < 0 {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-12-01T08:00:00+08:00), a date (2026-12-01) nor a span back from now (90m, 24h, 7d)", s)
	}
	return now.Add(-ago), nil
}

// Logs prints the download or distribution log to w: a line per hour, or with Detail every entry.
func Logs(ctx context.Context, cfg Config, w io.Writer, opts LogsOptions) error {
	q, err := opts.check(cfg, time.Now())
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.StoreURL)
	if err != nil {
		return err
	}
	defer db.Close()
	out := newSheet(w, q.format)
	logs := postgres.NewTransferLog(db)
	switch {
	case q.detail && q.log == DownloadLog:
		err = printPages(ctx, logs, q.filter, out)
	case q.detail:
		err = printBatches(ctx, logs, q.filter, out)
	default:
		err = printSummary(ctx, logs, q, out)
	}
	if err != nil {
		return fmt.Errorf("store %s: %w", postgres.Redact(cfg.StoreURL), err)
	}
	return out.Flush()
}

func printSummary(ctx context.Context, logs *postgres.TransferLog, q logsQuery, out sheet) error {
	sum, columns := logs.DownloadSummary, []string{"hour", "pages", "rows_read", "rows_published", "errors", "duration_ms"}
	if q.log == DistributionLog {
		sum, columns = logs.DistributionSummary, []string{"hour", "batches", "events", "errors", "duration_ms"}
	}
	hours, err := sum(ctx, q.filter)
	if err != nil {
		return err
	}
	out.Header(columns)
	for _, h := range hours {
		if q.log == DownloadLog {
			out.Row(localTime(h.Hour), h.Entries, h.Rows, h.Published, h.Errors, millis(h.Duration))
		} else {
			out.Row(localTime(h.Hour), h.Entries, h.Rows, h.Errors, millis(h.Duration))
		}
	}
	return nil
}

func printPages(ctx context.Context, logs *postgres.TransferLog, f postgres.LogFilter, out sheet) error {
	out.Header([]string{"started_at", "table", "from_time", "from_id", "to_time", "to_id", "rows_read", "rows_published", "duration_ms", "error"})
	return logs.DownloadPages(ctx, f, func(p capture.Page) error {
		fromTime, fromID := position(p.From)
		toTime, toID := position(p.To)
		out.Row(localTime(p.Started), p.Table, fromTime, fromID, toTime, toID, p.Read, p.Published, millis(p.Duration), orNil(p.Error))
		return nil
	})
}

func printBatches(ctx context.Context, logs *postgres.TransferLog, f postgres.LogFilter, out sheet) error {
	out.Header([]string{"started_at", "unit", "topic", "partition", "first_offset", "last_offset", "events", "first_seq", "duration_ms", "error"})
	return logs.DistributionBatches(ctx, f, func(b distribute.Batch) error {
		var partition, first, last any
		if b.Partition >= 0 {
			partition, first, last = b.Partition, b.First, b.Last
		}
		out.Row(localTime(b.Started), b.Unit, orNil(b.Topic), partition, first, last, b.Events, b.FirstSeq, millis(b.Duration), orNil(b.Error))
		return nil
	})
}

// localTime is how an operator in Wuhan reads a log time: RFC 3339 in the local zone, to the millisecond.
func localTime(t time.Time) string { return t.Local().Format("2006-01-02T15:04:05.000Z07:00") }

// position renders a watermark as the row's update_time (to the microsecond, like ce_time) and id; the beginning
// is null.
func position(p capture.Position) (any, any) {
	if p.IsZero() {
		return nil, nil
	}
	return events.FormatTime(p.Time), p.ID
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// pruneTransferLogs keeps the download and distribution logs to their retention, every interval.
func pruneTransferLogs(ctx context.Context, log *slog.Logger, logs *postgres.TransferLog, interval, retention time.Duration) {
	for {
		pruned, err := logs.PruneTransferLogs(ctx, retention)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("pruning the transfer logs failed; retrying", "error", err)
		case pruned > 0:
			log.Info("transfer logs pruned", "entries", pruned, "older_than", retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
