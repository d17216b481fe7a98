package pipeline

import (
	"context"
	"log/slog"

	"hotline-bridge/infra/postgres"
)

// Migrate applies the bridge's own schema, or with upstream the reference national tables.
func Migrate(ctx context.Context, cfg Config, log *slog.Logger, upstream bool) error {
	url, what := cfg.StoreURL, "store database"
	if upstream {
		url, what = cfg.UpstreamURL, "upstream database"
	}
	db, err := openDatabase(ctx, log, what, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if upstream {
		return postgres.MigrateUpstream(ctx, db)
	}
	return postgres.Migrate(ctx, db, log)
}
