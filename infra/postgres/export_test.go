package postgres

import (
	"context"

	"hotline-bridge/handlers/sort"
)

// RaiseForTest fails the transaction with the given SQLSTATE, as PostgreSQL itself would.
func RaiseForTest(ctx context.Context, tx sort.Tx, sqlstate string) error {
	_, err := tx.(*storeTx).tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'raised by the test' USING ERRCODE = '`+sqlstate+`'; END $$`)
	return err
}
