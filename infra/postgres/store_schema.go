package postgres

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/schemas"
)

// EnsureStore creates the dedicated store in schema: the upstream's twelve tables with every column, plus the
// unit each row belongs to. It reuses the reference upstream DDL so the two cannot drift apart; it is idempotent.
func EnsureStore(ctx context.Context, db *pgxpool.Pool, schema string) error {
	ddl, err := fs.ReadFile(schemas.Upstream, "upstream/001_reference_upstream.sql")
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		name := pgx.Identifier{schema}.Sanitize()
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('hotline-bridge store ddl'))"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+name+"; SET LOCAL search_path = "+name); err != nil {
			return fmt.Errorf("create store schema %s: %w", schema, err)
		}
		if _, err := tx.Exec(ctx, string(ddl)); err != nil {
			return fmt.Errorf("create store tables in %s: %w", schema, err)
		}
		for _, k := range events.Catalogue {
			t := pgx.Identifier{k.Table}.Sanitize()
			if _, err := tx.Exec(ctx, fmt.Sprintf(`ALTER TABLE %[1]s ADD COLUMN IF NOT EXISTS unit_code text NOT NULL DEFAULT '';
				CREATE INDEX IF NOT EXISTS %[2]s ON %[1]s (unit_code)`, t, pgx.Identifier{k.Table + "_unit_idx"}.Sanitize())); err != nil {
				return fmt.Errorf("add unit_code to %s.%s: %w", schema, k.Table, err)
			}
		}
		return nil
	})
}

// UnitCounts is the number of stored rows per unit and table.
func UnitCounts(ctx context.Context, db *pgxpool.Pool, schema string) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	for _, k := range events.Catalogue {
		rows, err := db.Query(ctx, fmt.Sprintf(`SELECT unit_code, count(*) FROM %s GROUP BY unit_code`, pgx.Identifier{schema, k.Table}.Sanitize()))
		if err != nil {
			return nil, fmt.Errorf("count %s.%s: %w", schema, k.Table, err)
		}
		for rows.Next() {
			var unit string
			var n int
			if err := rows.Scan(&unit, &n); err != nil {
				rows.Close()
				return nil, err
			}
			if out[unit] == nil {
				out[unit] = map[string]int{}
			}
			out[unit][k.Table] = n
		}
		rows.Close()
	}
	return out, nil
}
