package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/infra/postgres"
)

// RestoreOptions are bridge restore's flags.
type RestoreOptions struct {
	From  string
	Force bool // restore into a database that holds tables already, dropping what the dump holds first
}

// Restore checks a backup against its manifest (every file's SHA-256, no file missing or added), restores it
// with pg_restore into store_url, which must hold no table unless opts.Force, and checks every table's row count
// against the manifest.
func Restore(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer, opts RestoreOptions) error {
	m, err := verifyBackup(opts.From)
	if err != nil {
		return err
	}
	db, err := postgres.OpenSized(ctx, cfg.StoreURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	var serverNum int
	if err := db.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&serverNum); err != nil {
		return fmt.Errorf("restore into %s: %w", postgres.Redact(cfg.StoreURL), err)
	}
	if err := refuseNonEmpty(ctx, db, cfg.StoreURL, opts.Force); err != nil {
		return err
	}
	tools, err := findPGTools(cfg.PGBinDir, max(serverNum, m.ServerVersionNum))
	if err != nil {
		return err
	}
	args := []string{"--format=directory", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--no-password"}
	if opts.Force {
		args = append(args, "--clean", "--if-exists")
	}
	log.Info("restoring the store", "from", opts.From, "into", postgres.Redact(cfg.StoreURL), "backup_of", m.Database, "created_at", m.CreatedAt)
	if err := tools.run(ctx, "pg_restore", cfg.StoreURL, append(args, filepath.Join(opts.From, dumpDir))...); err != nil {
		return err
	}
	if err := checkRestoredCounts(ctx, db, m); err != nil {
		return err
	}
	fmt.Fprintf(out, "restored %s of %s (migration %d, %d tables, %d rows) into %s: row counts match the manifest\n",
		opts.From, m.CreatedAt.Format(time.RFC3339), m.SchemaMigration, len(m.RowCounts), sum(m.RowCounts), postgres.Redact(cfg.StoreURL))
	return nil
}

// verifyBackup reads the manifest and checks every file against it, naming each that was changed, is missing or
// was added.
func verifyBackup(dir string) (BackupManifest, error) {
	var m BackupManifest
	body, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return m, fmt.Errorf("restore from %s: %w", dir, err)
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("restore from %s: %s is not a backup manifest: %w", dir, manifestFile, err)
	}
	if m.Format != 1 || len(m.Files) == 0 {
		return m, fmt.Errorf("restore from %s: %s is not a format 1 backup manifest with files", dir, manifestFile)
	}
	found, err := checksums(dir)
	if err != nil {
		return m, err
	}
	var errs []error
	for _, path := range slices.Sorted(maps.Keys(m.Files)) {
		switch got, ok := found[path]; {
		case !ok:
			errs = append(errs, fmt.Errorf("%s is missing", path))
		case got != m.Files[path]:
			errs = append(errs, fmt.Errorf("%s does not match its checksum in the manifest (SHA-256 %s, want %s)", path, got, m.Files[path]))
		}
	}
	for _, path := range slices.Sorted(maps.Keys(found)) {
		if _, ok := m.Files[path]; !ok {
			errs = append(errs, fmt.Errorf("%s is not in the manifest", path))
		}
	}
	if len(errs) > 0 {
		return m, fmt.Errorf("restore from %s refused, the backup is not as it was written: %w", dir, errors.Join(errs...))
	}
	return m, nil
}

// refuseNonEmpty refuses a target that holds tables, unless forced: a restore must not mix into a live store.
func refuseNonEmpty(ctx context.Context, db *pgxpool.Pool, rawURL string, force bool) error {
	var n int
	var some []string
	err := db.QueryRow(ctx, `SELECT count(*), coalesce((array_agg(schemaname || '.' || tablename ORDER BY 1))[1:3], '{}')
		FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&n, &some)
	if err != nil {
		return fmt.Errorf("restore into %s: %w", postgres.Redact(rawURL), err)
	}
	if n > 0 && !force {
		return fmt.Errorf("restore into %s refused: the database is not empty (%d tables, e.g. %s); restore into a new database, or give --force to drop and replace what the backup holds",
			postgres.Redact(rawURL), n, strings.Join(some, ", "))
	}
	return nil
}

// checkRestoredCounts compares every table's rows with the manifest.
func checkRestoredCounts(ctx context.Context, db *pgxpool.Pool, m BackupManifest) error {
	got, err := countRows(ctx, db)
	if err != nil {
		return err
	}
	var errs []error
	for _, table := range slices.Sorted(maps.Keys(m.RowCounts)) {
		if n, ok := got[table]; !ok {
			errs = append(errs, fmt.Errorf("%s is missing", table))
		} else if n != m.RowCounts[table] {
			errs = append(errs, fmt.Errorf("%s has %d rows, the manifest %d", table, n, m.RowCounts[table]))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the restored store differs from the backup's manifest: %w", errors.Join(errs...))
	}
	return nil
}
