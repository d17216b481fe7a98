package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// A sorting transaction writes far more than it reads, and every statement sent alone costs a network round
// trip. So writes are queued and go out together with the next read (or the commit): a row's decision then costs
// a few round trips instead of one per statement, while reads still see every earlier write of the transaction.

// later queues a write; what names it in the error if it fails.
func (t *storeTx) later(what string, sql string, args ...any) {
	t.queued.Queue(sql, args...).Fn = func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
}

// queryRow sends the queued writes and one single-row read in one round trip.
func (t *storeTx) queryRow(ctx context.Context, scan func(pgx.Row) error, sql string, args ...any) error {
	t.queued.Queue(sql, args...).QueryRow(scan)
	return t.send(ctx)
}

// query sends the queued writes and one read in one round trip.
func (t *storeTx) query(ctx context.Context, each func(pgx.Rows) error, sql string, args ...any) error {
	t.queued.Queue(sql, args...).Query(each)
	return t.send(ctx)
}

// send sends what is queued.
func (t *storeTx) send(ctx context.Context) error {
	if t.queued.Len() == 0 {
		return nil
	}
	batch := t.queued
	t.queued = pgx.Batch{}
	return t.tx.SendBatch(ctx, &batch).Close()
}
