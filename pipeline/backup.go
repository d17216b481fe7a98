package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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

// pgTools are pg_dump and pg_restore of one directory, at least as new as the server (pg_dump refuses newer
// servers, and an older pg_restore cannot read a newer dump).
type pgTools struct {
	dir, version string
}

// findPGTools looks in pg_bin_dir when it is set, else in Debian's directory of the server's major version
// (/usr/lib/postgresql/15/bin, as infra/dev/localpg finds the cluster's binaries), else on PATH.
func findPGTools(binDir string, serverVersionNum int) (pgTools, error) {
	major := serverVersionNum / 10000
	var candidates []string
	if binDir != "" {
		candidates = []string{binDir}
	} else {
		candidates = []string{fmt.Sprintf("/usr/lib/postgresql/%d/bin", major)}
		if p, err := exec.LookPath("pg_dump"); err == nil {
			candidates = append(candidates, filepath.Dir(p))
		}
	}
	var errs []error
	for _, dir := range candidates {
		out, err := exec.Command(filepath.Join(dir, "pg_dump"), "--version").Output()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s/pg_dump: %w", dir, err))
			continue
		}
		version := strings.TrimSpace(string(out))
		var toolMajor int
		if fields := strings.Fields(version); len(fields) > 0 {
			_, _ = fmt.Sscanf(fields[len(fields)-1], "%d", &toolMajor)
		}
		if toolMajor < major {
			errs = append(errs, fmt.Errorf("%s/pg_dump is %q, older than the server's major version %d", dir, version, major))
			continue
		}
		return pgTools{dir: dir, version: version}, nil
	}
	return pgTools{}, fmt.Errorf("find pg_dump and pg_restore for PostgreSQL %d (set pg_bin_dir, or install postgresql-client-%d): %w",
		major, major, errors.Join(errs...))
}

// run runs a tool against the database at rawURL. The password goes in PGPASSWORD, never on the command line
// where any user of the machine could read it; pgx's own pool parameters are left out, libpq knows none of them.
func (t pgTools) run(ctx context.Context, tool, rawURL string, args ...string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%s: parse the database url %s: %w", tool, postgres.Redact(rawURL), err)
	}
	env := os.Environ()
	if pass, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pass)
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for key := range maps.Keys(q) {
		if strings.HasPrefix(key, "pool_") {
			q.Del(key)
		}
	}
	u.RawQuery = q.Encode()
	cmd := exec.CommandContext(ctx, filepath.Join(t.dir, tool), append(args, "--dbname="+u.String())...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s into/from %s: %w: %s", tool, postgres.Redact(rawURL), err, lastLines(string(out), 10))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

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
