package pipeline

import (
	"context"
	"io"
	"log/slog"

	"hotline-bridge/infra/postgres"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline/progress"
)

// SeedOptions says what bridge seed generates.
type SeedOptions struct {
	Generate seed.Options
	Changes  bool // keep changing the data like the live platform after generating (or instead, with Skip)
	Change   seed.ChangeOptions
	Skip     bool      // only change, do not generate
	Progress io.Writer // where to show how far it is (bars on a terminal, a line every few seconds elsewhere); nil: nowhere
}

// Seed fills the reference upstream with synthetic national data and optionally keeps changing it; it returns
// what it generated and what it changed.
func Seed(ctx context.Context, cfg Config, log *slog.Logger, opts SeedOptions) (generated, changed seed.Stats, err error) {
	db, err := openDatabase(ctx, log, "upstream database", cfg.UpstreamURL)
	if err != nil {
		return generated, changed, err
	}
	defer db.Close()
	if err := postgres.MigrateUpstream(ctx, db); err != nil {
		return generated, changed, err
	}
	var p seed.Progress
	opts.Generate.Progress, opts.Change.Progress = &p, &p
	shown := progress.Show(ctx, opts.Progress, seedStages(&p, opts), progress.Options{})
	defer shown.Stop()
	if !opts.Skip {
		if generated, err = seed.Generate(ctx, db, opts.Generate); err != nil {
			return generated, changed, err
		}
	}
	if opts.Changes {
		changed, err = seed.Change(ctx, db, opts.Change)
	}
	return generated, changed, err
}

// seedStages: the rows generated against their estimated total, then the change rounds (no total when they run
// until interrupted).
func seedStages(p *seed.Progress, opts SeedOptions) []progress.Stage {
	var stages []progress.Stage
	if !opts.Skip {
		stages = append(stages, progress.Stage{Name: "generated rows", Done: p.Rows, Total: p.RowsTotal})
	}
	if opts.Changes {
		rounds := int64(opts.Change.Rounds)
		stages = append(stages, progress.Stage{Name: "change rounds", Done: p.Rounds, Total: func() int64 { return rounds }})
	}
	return stages
}
