package pipeline

import (
	"context"
	"log/slog"

	"hotline-bridge/infra/postgres"
	"hotline-bridge/infra/seed"
)

// SeedOptions says what bridge seed generates.
type SeedOptions struct {
	Generate seed.Options
	Changes  bool // keep changing the data like the live platform after generating (or instead, with Skip)
	Change   seed.ChangeOptions
	Skip     bool // only change, do not generate
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
