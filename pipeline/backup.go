package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/handlers/inspect"
	"hotline-bridge/infra/postgres"
)

// A backup directory holds the dump in dumpDir (pg_dump's directory format) and manifestFile beside it.
const (
	dumpDir      = "store"
	manifestFile = "manifest.json"
)

// BackupManifest describes a backup: what made it, from what, what it holds and every file's checksum.
type BackupManifest struct {
	Format           int               `json:"format"` // 1
	CreatedAt        time.Time         `json:"created_at"`
	Bridge           inspect.Build     `json:"bridge"`
	Server           string            `json:"server"`             // version() of the store's server
	ServerVersionNum int               `json:"server_version_num"` // e.g. 150010
	PGDump           string            `json:"pg_dump"`            // pg_dump --version
	Database         string            `json:"database"`
	StoreSchema      string            `json:"store_schema"`
	SchemaMigration  int64             `json:"schema_migration"` // the newest bridge migration applied
	RowCounts        map[string]int64  `json:"row_counts"`       // schema.table → rows, in the dump's snapshot
	Files            map[string]string `json:"files"`            // path below the backup directory → SHA-256, hex
}

// Backup writes a consistent backup of the store database into dir: pg_dump's directory format of the whole
// database (the dedicated store and every table of the bridge's state) and a manifest. The row counts are taken
// in the very snapshot pg_dump dumps (pg_export_snapshot, pg_dump --snapshot), so they are what the dump holds
// while the bridge keeps running.
func Backup(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer, dir string) error {
	if err := emptyDir(dir); err != nil {
		return err
	}
	db, err := postgres.OpenSized(ctx, cfg.StoreURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	m := BackupManifest{Format: 1, CreatedAt: time.Now().UTC(), Bridge: Version(), StoreSchema: cfg.StoreSchema}
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("back up %s: %w", postgres.Redact(cfg.StoreURL), err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var snapshot string
	err = tx.QueryRow(ctx, `SELECT pg_export_snapshot(), version(), current_setting('server_version_num')::int, current_database()`).
		Scan(&snapshot, &m.Server, &m.ServerVersionNum, &m.Database)
	if err != nil {
		return fmt.Errorf("back up %s: export a snapshot: %w", postgres.Redact(cfg.StoreURL), err)
	}
	if m.SchemaMigration, err = schemaMigration(ctx, tx); err != nil {
		return err
	}
	if m.RowCounts, err = countRows(ctx, tx); err != nil {
		return err
	}
	tools, err := findPGTools(cfg.PGBinDir, m.ServerVersionNum)
	if err != nil {
		return err
	}
	m.PGDump = tools.version
	log.Info("backing up the store", "database", postgres.Redact(cfg.StoreURL), "to", dir, "tables", len(m.RowCounts))
	if err := tools.run(ctx, "pg_dump", cfg.StoreURL, "--format=directory", "--file="+filepath.Join(dir, dumpDir),
		"--snapshot="+snapshot, "--no-password"); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil { // the snapshot was needed until pg_dump had its own
		return fmt.Errorf("back up: end the snapshot's transaction: %w", err)
	}
	if m.Files, err = checksums(dir); err != nil {
		return err
	}
	if err := writeManifest(dir, m); err != nil {
		return err
	}
	fmt.Fprintf(out, "backup of %s (migration %d, %d tables, %d rows) in %s: %d files\n",
		m.Database, m.SchemaMigration, len(m.RowCounts), sum(m.RowCounts), dir, len(m.Files))
	return nil
}

// emptyDir makes sure dir exists and holds nothing: a backup never mixes with another.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("back up to %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("back up to %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("back up to %s: the directory is not empty (it holds %s); give a new one per backup", dir, entries[0].Name())
	}
	return nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func schemaMigration(ctx context.Context, q querier) (int64, error) {
	var v *int64
	if err := q.QueryRow(ctx, `SELECT max(version_id) FROM bridge_schema_version WHERE is_applied`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read the bridge schema version (is this a bridge store?): %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// countRows counts every table of the database outside PostgreSQL's own schemas.
func countRows(ctx context.Context, q querier) (map[string]int64, error) {
	rows, err := q.Query(ctx, `SELECT schemaname, tablename FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("list the store's tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgx.Identifier, error) {
		var schema, table string
		err := r.Scan(&schema, &table)
		return pgx.Identifier{schema, table}, err
	})
	if err != nil {
		return nil, fmt.Errorf("list the store's tables: %w", err)
	}
	counts := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := q.QueryRow(ctx, `SELECT count(*) FROM `+t.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s.%s: %w", t[0], t[1], err)
		}
		counts[t[0]+"."+t[1]] = n
	}
	return counts, nil
}

func sum(counts map[string]int64) (n int64) {
	for _, c := range counts {
		n += c
	}
	return n
}

// checksums is the SHA-256 of every file below dir but the manifest, by slash-separated relative path.
func checksums(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == manifestFile {
			return err
		}
		sum, err := fileSHA256(path)
		out[filepath.ToSlash(rel)] = sum
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("checksum the backup in %s: %w", dir, err)
	}
	return out, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeManifest(dir string, m BackupManifest) error {
	body, err := json.MarshalIndent(m, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, manifestFile), append(body, '\n'), 0o600)
	}
	if err != nil {
		return fmt.Errorf("write the backup manifest: %w", err)
	}
	return nil
}
