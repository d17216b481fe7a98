package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/handlers/capture"
	"hotline-bridge/handlers/distribute"
)

// TransferLog is the download and distribution logs (bridge.download_log, bridge.distribution_log): written by
// capture and the forwarder, read by `bridge logs`, pruned by `bridge run`.
type TransferLog struct{ db *pgxpool.Pool }

var _ capture.PageLog = (*TransferLog)(nil)

// NewTransferLog keeps the logs in db, the bridge's own database.
func NewTransferLog(db *pgxpool.Pool) *TransferLog { return &TransferLog{db: db} }

var (
	downloadLog     = pgx.Identifier{"bridge", "download_log"}
	downloadColumns = []string{"table_name", "started_at", "finished_at", "from_time", "from_id", "to_time", "to_id",
		"rows_read", "rows_published", "error"}
	distributionLog     = pgx.Identifier{"bridge", "distribution_log"}
	distributionColumns = []string{"started_at", "finished_at", "unit_code", "topic", "kafka_partition",
		"first_offset", "last_offset", "events", "first_seq", "error"}
)

// copier is a pool or a transaction: COPY writes a whole batch of log entries in one round trip.
type copier interface {
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// Record appends capture pages to the download log.
func (l *TransferLog) Record(ctx context.Context, pages []capture.Page) error {
	rows := make([][]any, len(pages))
	for i, p := range pages {
		fromTime, fromID := positionColumns(p.From)
		toTime, toID := positionColumns(p.To)
		rows[i] = []any{p.Table, p.Started, p.Started.Add(p.Duration), fromTime, fromID, toTime, toID,
			p.Read, p.Published, nullIfEmpty(p.Error)}
	}
	if _, err := l.db.CopyFrom(ctx, downloadLog, downloadColumns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("append %d pages to the download log: %w", len(pages), err)
	}
	return nil
}

// LogSent writes the distribution log in the outbox transaction, so an entry exists exactly when its marks do.
func (t *outboxTx) LogSent(ctx context.Context, batches []distribute.Batch) error {
	return appendBatches(ctx, t.tx, batches)
}

// LogFailed writes a failed send on its own: the outbox transaction it happened in rolls back.
func (o *Outbox) LogFailed(ctx context.Context, batches []distribute.Batch) error {
	return appendBatches(ctx, o.db, batches)
}

func appendBatches(ctx context.Context, db copier, batches []distribute.Batch) error {
	rows := make([][]any, len(batches))
	for i, b := range batches {
		var partition, first, last any
		if b.Partition >= 0 {
			partition, first, last = b.Partition, b.First, b.Last
		}
		rows[i] = []any{b.Started, b.Started.Add(b.Duration), b.Unit, nullIfEmpty(b.Topic), partition, first, last,
			b.Events, b.FirstSeq, nullIfEmpty(b.Error)}
	}
	if _, err := db.CopyFrom(ctx, distributionLog, distributionColumns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("append %d entries to the distribution log: %w", len(batches), err)
	}
	return nil
}

// positionColumns stores the zero Position, the beginning, as NULLs.
func positionColumns(p capture.Position) (any, any) {
	if p.IsZero() {
		return nil, nil
	}
	return p.Time, p.ID
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// PruneTransferLogs deletes log entries that started longer than retention ago, in chunks so that pruning never
// holds many row locks for long. It returns how many it deleted.
func (l *TransferLog) PruneTransferLogs(ctx context.Context, retention time.Duration) (int, error) {
	total := 0
	for _, table := range []pgx.Identifier{downloadLog, distributionLog} {
		for {
			tag, err := l.db.Exec(ctx, fmt.Sprintf(`DELETE FROM %[1]s WHERE seq IN (
				SELECT seq FROM %[1]s WHERE started_at < now() - $1::interval ORDER BY started_at LIMIT $2)`, table.Sanitize()),
				retention, pruneChunk)
			if err != nil {
				return total, fmt.Errorf("prune %s: %w", table.Sanitize(), err)
			}
			total += int(tag.RowsAffected())
			if tag.RowsAffected() < pruneChunk {
				break
			}
		}
	}
	return total, nil
}
