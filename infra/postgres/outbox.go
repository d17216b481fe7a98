package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/distribute"
)

// Outbox is the distribution outbox (bridge.outbox) seen by the forwarder.
type Outbox struct{ db *pgxpool.Pool }

var _ distribute.Outbox = (*Outbox)(nil)

// NewOutbox forwards from db, the bridge's own database.
func NewOutbox(db *pgxpool.Pool) *Outbox { return &Outbox{db: db} }

// Apply runs fn in a transaction holding the forwarding lock, a transaction-level advisory lock that every bridge
// instance takes before reading the outbox, so one forwarder at a time claims, sends and marks.
//
// Why not SELECT ... FOR UPDATE SKIP LOCKED: a second instance would then claim the next seqs while the first is
// still sending, and the two sends race: a key's later change could reach its partition first, or the earlier one
// could fail and be re-sent after it. Consumers rely on seq order per key, and only one sender at a time keeps it.
// The lock goes with commit or rollback, also when the session dies, so a crashed instance never blocks the
// others: the next waiting one takes over. One forwarder moves some 36k events/s (BenchmarkOutboxForward on a
// 2-core host), so little is lost by not sending in parallel.
func (o *Outbox) Apply(ctx context.Context, fn func(distribute.OutboxTx) error) error {
	tx, err := o.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin outbox transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('hotline-bridge outbox forwarder'))`); err != nil {
		return fmt.Errorf("take the outbox forwarding lock: %w", err)
	}
	// Right after a burst the statistics still say little is pending, and the planner would fetch and sort every
	// pending row for each batch: quadratic over a backlog. Walking the partial index in seq order reads one batch.
	if _, err := tx.Exec(ctx, `SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off`); err != nil {
		return fmt.Errorf("set outbox scan plan: %w", err)
	}
	if err := fn(&outboxTx{tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit outbox marks: %w", err)
	}
	return nil
}

type outboxTx struct{ tx pgx.Tx }

// Pending reads through the partial index of unpublished rows. Only committed rows are visible, and there is no
// seq cursor: a row whose transaction took its seq early but committed late is found on a later call (after events
// of other rows; a row's own events keep their order, because the sorter locks the row's ledger entry, so its
// next event takes a later seq and commits later). FOR UPDATE makes anything else that would touch these rows (a
// retention job) wait for the marks.
func (t *outboxTx) Pending(ctx context.Context, limit int) ([]events.Distribution, error) {
	rows, err := t.tx.Query(ctx, `SELECT seq, event_id, unit_code, event_type, table_name, row_id, record_key, row_time, payload,
			coalesce(traceparent, '') FROM bridge.outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE`, limit)
	if err != nil {
		return nil, fmt.Errorf("read pending outbox events: %w", err)
	}
	batch, err := pgx.CollectRows(rows, pgx.RowToStructByPos[events.Distribution])
	if err != nil {
		return nil, fmt.Errorf("read pending outbox events: %w", err)
	}
	return batch, nil
}

// RecordHops adds the batch's published hops to the audit outbox, in the transaction of the marks.
func (t *outboxTx) RecordHops(ctx context.Context, hops []events.Hop) error {
	var b pgx.Batch
	queueHops(&b, hops)
	return t.tx.SendBatch(ctx, &b).Close()
}

// MarkPublished writes the whole batch's marks in one statement, all with the statement's time: batches are
// published one at a time (the forwarding lock), so (published_at, seq) is the order events reached the broker,
// which reconciliation's rewind check needs. seq alone is not: a sorting batch can commit a lower seq after
// another batch's higher one was published.
func (t *outboxTx) MarkPublished(ctx context.Context, published []distribute.Published) error {
	seqs, partitions, offsets := make([]int64, len(published)), make([]int32, len(published)), make([]int64, len(published))
	for i, p := range published {
		seqs[i], partitions[i], offsets[i] = p.Seq, p.Partition, p.Offset
	}
	tag, err := t.tx.Exec(ctx, `UPDATE bridge.outbox o
		SET published_at = statement_timestamp(), kafka_partition = m.part, kafka_offset = m.off
		FROM unnest($1::bigint[], $2::integer[], $3::bigint[]) AS m(seq, part, off)
		WHERE o.seq = m.seq AND o.published_at IS NULL`, seqs, partitions, offsets)
	if err != nil {
		return fmt.Errorf("mark %d outbox events published: %w", len(published), err)
	}
	if int(tag.RowsAffected()) != len(published) {
		return fmt.Errorf("mark %d outbox events published: %d were still pending", len(published), tag.RowsAffected())
	}
	return nil
}
