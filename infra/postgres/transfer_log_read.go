package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/handlers/capture"
	"hotline-bridge/handlers/distribute"
)

// LogFilter selects log entries that started in [Since, Until), of one table or unit when set.
type LogFilter struct {
	Since, Until time.Time
	Table, Unit  string
}

// HourSummary sums one hour of a log.
type HourSummary struct {
	Hour      time.Time
	Entries   int   // pages, or sends (a send to several partitions counts once)
	Rows      int64 // rows read, or events sent
	Published int64 // rows published; the download log only
	Errors    int   // failed pages, or failed sends
	Duration  time.Duration
}

// DownloadSummary sums the download log per hour, oldest first.
func (l *TransferLog) DownloadSummary(ctx context.Context, f LogFilter) ([]HourSummary, error) {
	return l.summary(ctx, "download log", `
		SELECT date_trunc('hour', started_at, 'UTC'), count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_published), 0),
		       count(error), (extract(epoch FROM sum(finished_at - started_at)) * 1e6)::bigint
		FROM bridge.download_log
		WHERE started_at >= $1 AND started_at < $2 AND ($3 = '' OR table_name = $3)
		GROUP BY 1 ORDER BY 1`, f.Since, f.Until, f.Table)
}

// DistributionSummary sums the distribution log per hour, oldest first. The entries of one send share its start
// and duration, so sends are grouped first: a send's time counts once, however many partitions it reached.
func (l *TransferLog) DistributionSummary(ctx context.Context, f LogFilter) ([]HourSummary, error) {
	return l.summary(ctx, "distribution log", `
		WITH send AS (
			SELECT started_at, max(finished_at - started_at) AS took, sum(events) AS events, bool_or(error IS NOT NULL) AS failed
			FROM bridge.distribution_log
			WHERE started_at >= $1 AND started_at < $2 AND ($3 = '' OR unit_code = $3)
			GROUP BY started_at)
		SELECT date_trunc('hour', started_at, 'UTC'), count(*), coalesce(sum(events), 0), 0,
		       count(*) FILTER (WHERE failed), (extract(epoch FROM sum(took)) * 1e6)::bigint
		FROM send GROUP BY 1 ORDER BY 1`, f.Since, f.Until, f.Unit)
}

func (l *TransferLog) summary(ctx context.Context, what, query string, args ...any) ([]HourSummary, error) {
	rows, err := l.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sum the %s: %w", what, err)
	}
	var out []HourSummary
	var s HourSummary
	var micros int64
	_, err = pgx.ForEachRow(rows, []any{&s.Hour, &s.Entries, &s.Rows, &s.Published, &s.Errors, &micros}, func() error {
		s.Duration = time.Duration(micros) * time.Microsecond
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sum the %s: %w", what, err)
	}
	return out, nil
}

// DownloadPages calls fn with every download log entry of f, oldest first; a long range is streamed, not held.
func (l *TransferLog) DownloadPages(ctx context.Context, f LogFilter, fn func(capture.Page) error) error {
	rows, err := l.db.Query(ctx, `
		SELECT table_name, started_at, finished_at, from_time, coalesce(from_id, ''), to_time, coalesce(to_id, ''),
		       rows_read, rows_published, coalesce(error, '')
		FROM bridge.download_log
		WHERE started_at >= $1 AND started_at < $2 AND ($3 = '' OR table_name = $3)
		ORDER BY started_at, seq`, f.Since, f.Until, f.Table)
	if err != nil {
		return fmt.Errorf("read the download log: %w", err)
	}
	var p capture.Page
	var finished time.Time
	var fromTime, toTime *time.Time
	_, err = pgx.ForEachRow(rows, []any{&p.Table, &p.Started, &finished, &fromTime, &p.From.ID, &toTime, &p.To.ID,
		&p.Read, &p.Published, &p.Error}, func() error {
		p.Duration = finished.Sub(p.Started)
		p.From.Time, p.To.Time = timeOrZero(fromTime), timeOrZero(toTime)
		return fn(p)
	})
	if err != nil {
		return fmt.Errorf("read the download log: %w", err)
	}
	return nil
}

// DistributionBatches calls fn with every distribution log entry of f, oldest first.
func (l *TransferLog) DistributionBatches(ctx context.Context, f LogFilter, fn func(distribute.Batch) error) error {
	rows, err := l.db.Query(ctx, `
		SELECT started_at, finished_at, unit_code, coalesce(topic, ''), coalesce(kafka_partition, -1),
		       coalesce(first_offset, -1), coalesce(last_offset, -1), events, first_seq, coalesce(error, '')
		FROM bridge.distribution_log
		WHERE started_at >= $1 AND started_at < $2 AND ($3 = '' OR unit_code = $3)
		ORDER BY started_at, seq`, f.Since, f.Until, f.Unit)
	if err != nil {
		return fmt.Errorf("read the distribution log: %w", err)
	}
	var b distribute.Batch
	var finished time.Time
	_, err = pgx.ForEachRow(rows, []any{&b.Started, &finished, &b.Unit, &b.Topic, &b.Partition, &b.First, &b.Last,
		&b.Events, &b.FirstSeq, &b.Error}, func() error {
		b.Duration = finished.Sub(b.Started)
		return fn(b)
	})
	if err != nil {
		return fmt.Errorf("read the distribution log: %w", err)
	}
	return nil
}

func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
