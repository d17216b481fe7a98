package pipeline_test

import (
	"context"
	"errors"
	"io/fs"
	"net/url"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/infra/postgres"
	"hotline-bridge/schemas"
)

type storeDB struct{ db *pgxpool.Pool }

func storeQuerier(t *testing.T, e *bridgeEnv) storeDB {
	t.Helper()
	db, err := postgres.Open(context.Background(), e.cfg.StoreURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return storeDB{db: db}
}

// watermark is the row id of a table's durable capture position, "" before the first one is saved.
func (s storeDB) watermark(t *testing.T, table string) string {
	t.Helper()
	var id string
	err := s.db.QueryRow(context.Background(), `SELECT row_id FROM bridge.capture_watermark WHERE table_name = $1`, table).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) || isUndefinedTable(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000")
}

func hostPort(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func (s storeDB) count(t *testing.T, sql string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// assertUnits checks rows' units in the dedicated store; "" means the row must not be there.
func (s storeDB) assertUnits(t *testing.T, want map[string]string) {
	t.Helper()
	for key, unit := range want {
		table, id, _ := strings.Cut(key, " ")
		var got string
		err := s.db.QueryRow(context.Background(), `SELECT unit_code FROM wuhan.`+table+` WHERE id = $1`, id).Scan(&got)
		if errors.Is(err, pgx.ErrNoRows) {
			got = ""
		} else if err != nil {
			t.Fatal(err)
		}
		if got != unit {
			t.Errorf("%s: unit %q, want %q", key, got, unit)
		}
	}
}

// countOrZero is count for a table the bridge may not have created yet.
func (s storeDB) countOrZero(t *testing.T, sql string) int {
	t.Helper()
	var n int
	err := s.db.QueryRow(context.Background(), sql).Scan(&n)
	if isUndefinedTable(err) {
		return 0
	}
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// strings is the first column of every row sql returns.
func (s storeDB) strings(t *testing.T, sql string) []string {
	t.Helper()
	rows, err := s.db.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// newestMigration is the number of the last bridge migration in schemas/bridge: what a migrated store is at.
func newestMigration(t *testing.T) int64 {
	t.Helper()
	files, err := fs.Glob(schemas.Bridge, "bridge/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("list the bridge migrations: %v (%d files)", err, len(files))
	}
	n, err := strconv.ParseInt(strings.SplitN(path.Base(files[len(files)-1]), "_", 2)[0], 10, 64)
	if err != nil {
		t.Fatalf("the newest bridge migration %s: %v", files[len(files)-1], err)
	}
	return n
}
