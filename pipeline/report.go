package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/report"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/postgres"
)

// ReportOptions are bridge report's flags.
type ReportOptions struct {
	Day, From, To string // dates in Asia/Shanghai; none: yesterday
	JSON          bool
	Out           string // directory for CSV, JSON and report.html; empty: print only
}

// Report builds the indicator report of a period and prints it, as text or JSON, and writes it to opts.Out.
func Report(ctx context.Context, cfg Config, log *slog.Logger, w io.Writer, opts ReportOptions) error {
	period, err := report.ParsePeriod(opts.Day, opts.From, opts.To, time.Now())
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, log, "store database", cfg.StoreURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db, log); err != nil {
		return err
	}
	var offsets *kafka.Offsets
	if len(cfg.KafkaBrokers) > 0 {
		offsets = kafka.NewOffsets(cfg.kafka())
		defer offsets.Close()
	}
	r, err := newReportBuilder(cfg, db, offsets, time.Now).Build(ctx, period)
	if err != nil {
		return err
	}
	if opts.Out != "" {
		if err := r.WriteDir(opts.Out); err != nil {
			return err
		}
	}
	if opts.JSON {
		return r.WriteJSON(w)
	}
	return r.WriteText(w)
}

// newReportBuilder reads the store; offsets, when not nil, measures the district groups' acknowledgements.
func newReportBuilder(cfg Config, db *pgxpool.Pool, offsets *kafka.Offsets, now func() time.Time) report.Builder {
	b := report.Builder{
		Store:          postgres.NewReports(db, cfg.StoreSchema),
		ConsumerGroups: cfg.ConsumerGroups,
		Topic:          func(unit string) string { return events.UnitTopic(cfg.TopicPrefix, unit) },
		Now:            now,
	}
	if offsets != nil {
		b.Groups = groupOffsets{offsets}
	}
	return b
}

// groupOffsets reads a group's committed offsets on every partition the topic has.
type groupOffsets struct{ offsets *kafka.Offsets }

func (g groupOffsets) Committed(ctx context.Context, group, topic string) (map[int32]int64, error) {
	spans, exists, err := g.offsets.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("topic %s does not exist", topic)
	}
	partitions := make([]int32, 0, len(spans))
	for p := range spans {
		partitions = append(partitions, p)
	}
	return g.offsets.Committed(ctx, group, topic, partitions)
}

// dailyReports writes yesterday's report into report_dir once a day, once across all instances.
type dailyReports struct {
	dir     string
	builder report.Builder
	claims  *postgres.Reports
	log     *slog.Logger
	done    report.Day // the last day this instance saw written, by itself or another: no need to ask again
}

func newDailyReports(cfg Config, db *pgxpool.Pool, offsets *kafka.Offsets, log *slog.Logger, now func() time.Time) *dailyReports {
	return &dailyReports{dir: cfg.ReportDir, builder: newReportBuilder(cfg, db, offsets, now),
		claims: postgres.NewReports(db, cfg.StoreSchema), log: log}
}

// run checks every interval, by the clock now, whether yesterday's report (in Shanghai) is still to write.
func (d *dailyReports) run(ctx context.Context, now func() time.Time, interval time.Duration) {
	for {
		d.writeDue(ctx, now())
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

func (d *dailyReports) writeDue(ctx context.Context, now time.Time) {
	day := report.DayOf(now).AddDays(-1)
	if d.done == day {
		return
	}
	dir := filepath.Join(d.dir, day.String())
	wrote, err := d.claims.ClaimReportDay(ctx, day.String(), dir, func(ctx context.Context) error {
		r, err := d.builder.Build(ctx, report.Period{First: day, Last: day})
		if err != nil {
			return err
		}
		return r.WriteDir(dir)
	})
	switch {
	case errors.Is(err, context.Canceled):
	case err != nil:
		d.log.Warn("writing the daily report failed; retrying", "day", day.String(), "error", err)
	default:
		d.done = day
		if wrote {
			d.log.Info("daily report written", "day", day.String(), "dir", dir)
		} else {
			d.log.Info("daily report already written by another instance", "day", day.String())
		}
	}
}
