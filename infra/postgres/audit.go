package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/audit"
)

// The audit trail in the store: hops wait in bridge.audit_outbox, written in the transaction of the deed they
// record, until the relay has put them on the audit topic; the audit subscriber keeps them in bridge.audit_hop.

// queueHops adds a transaction's hops to the audit outbox as one row.
func queueHops(b *pgx.Batch, hops []events.Hop) {
	if len(hops) == 0 {
		return
	}
	doc, _ := json.Marshal(hops) // plain values: Marshal cannot fail
	b.Queue(`INSERT INTO bridge.audit_outbox (hops) VALUES ($1)`, string(doc)).Fn = failure("record %d hops", len(hops))
}

// AuditOutbox is bridge.audit_outbox seen by the relay.
type AuditOutbox struct{ db *pgxpool.Pool }

var _ audit.Outbox = (*AuditOutbox)(nil)

// NewAuditOutbox relays from db, the bridge's own database.
func NewAuditOutbox(db *pgxpool.Pool) *AuditOutbox { return &AuditOutbox{db: db} }

// Apply runs fn in one transaction. Rows are claimed with SKIP LOCKED: hops have no order to keep (the trail
// orders by time), so several bridge instances relay side by side.
func (o *AuditOutbox) Apply(ctx context.Context, fn func(audit.OutboxTx) error) error {
	return pgx.BeginFunc(ctx, o.db, func(tx pgx.Tx) error { return fn(auditOutboxTx{tx}) })
}

type auditOutboxTx struct{ tx pgx.Tx }

func (t auditOutboxTx) Pending(ctx context.Context, limit int) ([]audit.Pending, error) {
	rows, err := t.tx.Query(ctx, `SELECT seq, hops FROM bridge.audit_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
	if err != nil {
		return nil, fmt.Errorf("read the audit outbox: %w", err)
	}
	pending, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Pending, error) {
		var p audit.Pending
		err := r.Scan(&p.Seq, &p.Hops)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the audit outbox: %w", err)
	}
	return pending, nil
}

func (t auditOutboxTx) Done(ctx context.Context, seqs []int64) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM bridge.audit_outbox WHERE seq = ANY($1)`, seqs); err != nil {
		return fmt.Errorf("clear %d relayed audit outbox rows: %w", len(seqs), err)
	}
	return nil
}

// AuditTrail is bridge.audit_hop.
type AuditTrail struct{ db *pgxpool.Pool }

var _ audit.Trail = (*AuditTrail)(nil)

// NewAuditTrail keeps the trail in db, the bridge's own database.
func NewAuditTrail(db *pgxpool.Pool) *AuditTrail { return &AuditTrail{db: db} }

// Record appends a record's hops in one statement, from the record's payload as it came when there is one; a
// hop recorded before (a record delivered again) is kept once.
func (a *AuditTrail) Record(ctx context.Context, record events.HopRecord) error {
	doc, hops := record.Payload, len(record.Hops)
	if doc == nil {
		var err error
		if doc, err = events.EncodeHops(record.Hops); err != nil {
			return fmt.Errorf("encode %d hops: %w", hops, err)
		}
	}
	_, err := a.db.Exec(ctx, `INSERT INTO bridge.audit_hop (hop_id, hop, at, table_name, row_id, version, unit_code,
			registration_id, reg_no, topic, kafka_partition, kafka_offset, ce_id, trace_id, detail)
		SELECT h.hop_id, h.hop, h.at, h."table", h.id, h.version, h.unit, h.registration_id, h.reg_no, h.topic,
			h.partition, h."offset", h.ce_id, h.trace_id, h.detail
		FROM jsonb_to_recordset($1::jsonb -> 'hops') AS h(hop_id text, hop text, at timestamptz, "table" text, id text,
			version timestamptz, unit text, registration_id text, reg_no text, topic text, partition integer,
			"offset" bigint, ce_id text, trace_id text, detail jsonb)
		ON CONFLICT (hop_id) DO NOTHING`, doc)
	if err != nil {
		return fmt.Errorf("record %d hops in the audit trail: %w", hops, err)
	}
	return nil
}

// Journey returns the hops of the rows q names, in time order: a row by table and id, or a registration by its
// number (or id) with its whole family — every row that was ever decided as belonging to it.
func (a *AuditTrail) Journey(ctx context.Context, q audit.Query) ([]events.Hop, error) {
	var rows pgx.Rows
	var err error
	if q.RegNo != "" {
		rows, err = a.db.Query(ctx, `WITH reg AS (
				SELECT DISTINCT row_id FROM bridge.audit_hop WHERE reg_no = $1 AND table_name = $2),
			family AS (
				SELECT DISTINCT table_name, row_id FROM bridge.audit_hop
				WHERE registration_id IN (SELECT row_id FROM reg)
				UNION SELECT $2, row_id FROM reg)
			SELECT `+hopColumns+` FROM bridge.audit_hop h JOIN family f USING (table_name, row_id)
			ORDER BY `+hopOrder, q.RegNo, events.WorkOrderKind.Table)
	} else {
		rows, err = a.db.Query(ctx, `SELECT `+hopColumns+` FROM bridge.audit_hop h
			WHERE table_name = $1 AND row_id = $2 ORDER BY `+hopOrder, q.Table, q.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("read the audit trail: %w", err)
	}
	hops, err := pgx.CollectRows(rows, scanHop)
	if err != nil {
		return nil, fmt.Errorf("read the audit trail: %w", err)
	}
	return hops, nil
}

// hopOrder is time order; hops of one transaction share a time and keep the order they were recorded in.
const hopOrder = `h.at, split_part(substr(h.hop_id, 2), ':', 1)::bigint, split_part(h.hop_id, ':', 2)::int`

const hopColumns = `h.hop_id, h.hop, h.at, h.table_name, h.row_id, h.version, coalesce(h.unit_code, ''),
	coalesce(h.registration_id, ''), coalesce(h.reg_no, ''), coalesce(h.topic, ''), h.kafka_partition,
	h.kafka_offset, coalesce(h.ce_id, ''), coalesce(h.trace_id, ''), h.detail`

func scanHop(r pgx.CollectableRow) (events.Hop, error) {
	var h events.Hop
	var version *time.Time
	err := r.Scan(&h.ID, &h.Hop, &h.At, &h.Table, &h.RowID, &version, &h.Unit, &h.Registration, &h.RegNo,
		&h.Topic, &h.Partition, &h.Offset, &h.CeID, &h.TraceID, &h.Detail)
	if version != nil {
		h.Version = *version
	}
	return h, err
}

// PruneAudit forgets hops older than retention, a chunk per statement.
func (a *AuditTrail) PruneAudit(ctx context.Context, retention time.Duration) (int, error) {
	total := 0
	for {
		tag, err := a.db.Exec(ctx, `DELETE FROM bridge.audit_hop WHERE hop_id IN (
			SELECT hop_id FROM bridge.audit_hop WHERE at < now() - $1::interval LIMIT $2)`, retention, pruneChunk)
		if err != nil {
			return total, fmt.Errorf("prune the audit trail: %w", err)
		}
		total += int(tag.RowsAffected())
		if tag.RowsAffected() < pruneChunk {
			return total, nil
		}
	}
}
