package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// IsPermanent says the server refused the connection for good: it turned the role or its password down
// (SQLSTATE class 28) or has no such database (3D000). Waiting mends neither; the setting is to be fixed.
func IsPermanent(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "28") || pgErr.Code == "3D000")
}

// Open returns a pool for url whose sessions speak UTC, so that JSON renderings of timestamptz are RFC 3339 in
// UTC whatever the server's default zone. It does not connect yet: an unreachable database shows up on first use,
// where callers retry it.
func Open(ctx context.Context, rawURL string) (*pgxpool.Pool, error) {
	// The routers decide many partitions at once; pgx's default of 4 would serialise them. More than 10 gains
	// nothing on a catch-up (8 to 16 connections took 40-43 s for 988,188 rows on 2 cores, 24 took 45 s) and
	// costs memory: every batch in flight holds its rows (peak RSS 234 MB with 8, 248 with 10, 260 with 16).
	return OpenSized(ctx, rawURL, 10)
}

// OpenSized is Open with at most maxConns connections, unless the URL sets pool_max_conns: a small pool of its
// own keeps probes and metrics answering while the main pool is busy.
func OpenSized(ctx context.Context, rawURL string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse database url %s: %w", Redact(rawURL), err)
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	cfg.ConnConfig.RuntimeParams["application_name"] = "hotline-bridge"
	// pgx prepares every statement, and after five runs PostgreSQL may keep a generic plan for good. One chosen
	// while the ledger was small (a hash join over all of bridge.row_state) then stays as the ledger grows to a
	// million entries: measured in a catch-up, the ledger reads took 291 s instead of 21 s and the run twice as
	// long. Planned for their arguments every time, a batch's statements probe the indexes.
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	if !strings.Contains(rawURL, "pool_max_conns") {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", Redact(rawURL), err)
	}
	return pool, nil
}

// Redact renders a database URL for logs and errors: host and database, never the password.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "(unparseable database url)"
	}
	return u.Redacted()
}
