package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"hotline-bridge/schemas"
)

// Migrate brings the bridge's own schema up to date. It is idempotent, and a session lock lets several instances
// start at once.
func Migrate(ctx context.Context, db *pgxpool.Pool, log *slog.Logger) error {
	migrations, err := fs.Sub(schemas.Bridge, "bridge")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	sqlDB := stdlib.OpenDBFromPool(db)
	defer sqlDB.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations,
		goose.WithSessionLocker(locker), goose.WithTableName("bridge_schema_version"))
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate bridge schema: %w", err)
	}
	for _, r := range results {
		log.Info("migration applied", "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}

// MigrateUpstream creates the reference national tables (for demos, tests and benchmarks; the real upstream
// belongs to SAMR). The script is idempotent.
func MigrateUpstream(ctx context.Context, db *pgxpool.Pool) error {
	files, err := fs.Glob(schemas.Upstream, "upstream/*.sql")
	if err != nil {
		return err
	}
	for _, name := range files {
		script, err := fs.ReadFile(schemas.Upstream, name)
		if err != nil {
			return err
		}
		if _, err := db.Exec(ctx, string(script)); err != nil {
			return fmt.Errorf("apply %s: %w", name, err)
		}
	}
	return nil
}
