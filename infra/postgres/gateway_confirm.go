package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/events"
	"hotline-bridge/handlers/gateway"
)

// Confirm marks the requests the captured national rows reflect, oldest first, with a confirmed hop each, in one
// transaction. What reflects a request:
//   - a sign-for: the work order's handler_id is the signing clerk;
//   - feedback: a row of initial_feedback (final_feedback) of the work order, not soft-deleted, with the same
//     result, handler_id and feedback_at (finished_at) as submitted.
//
// SKIP LOCKED lets several bridge instances confirm side by side.
func (g *Gateway) Confirm(ctx context.Context, limit int) (int, error) {
	var confirmed int
	err := pgx.BeginFunc(ctx, g.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, fmt.Sprintf(`WITH due AS (
				SELECT g.request_id FROM bridge.gateway_request g
				WHERE g.confirmed_at IS NULL AND CASE g.action
					WHEN 'sign' THEN EXISTS (SELECT FROM %[1]s.registration r
						WHERE r.id = g.registration_id AND r.handler_id = g.payload->>'personnel_id')
					WHEN 'initial_feedback' THEN EXISTS (SELECT FROM %[1]s.initial_feedback f
						WHERE f.registration_id = g.registration_id AND NOT f.is_deleted AND f.result = g.payload->>'result'
							AND f.handler_id = g.payload->>'handler_id' AND f.feedback_at = (g.payload->>'feedback_at')::timestamptz)
					WHEN 'final_feedback' THEN EXISTS (SELECT FROM %[1]s.final_feedback f
						WHERE f.registration_id = g.registration_id AND NOT f.is_deleted AND f.result = g.payload->>'result'
							AND f.handler_id = g.payload->>'handler_id' AND f.finished_at = (g.payload->>'finished_at')::timestamptz)
					END
				ORDER BY g.accepted_at LIMIT $1 FOR UPDATE SKIP LOCKED)
			UPDATE bridge.gateway_request g SET confirmed_at = clock_timestamp() FROM due WHERE g.request_id = due.request_id
			RETURNING g.request_id, g.action, g.registration_id, g.reg_no, g.unit_code, g.caller, g.confirmed_at`, g.schema), limit)
		if err != nil {
			return fmt.Errorf("confirm gateway requests: %w", err)
		}
		hops, err := pgx.CollectRows(rows, scanConfirmed)
		if err != nil {
			return fmt.Errorf("confirm gateway requests: %w", err)
		}
		confirmed = len(hops)
		var b pgx.Batch
		queueHops(&b, hops)
		return tx.SendBatch(ctx, &b).Close()
	})
	return confirmed, err
}

func scanConfirmed(r pgx.CollectableRow) (events.Hop, error) {
	var id, regID, regNo, unit, caller string
	var action gateway.Action
	var at time.Time
	err := r.Scan(&id, &action, &regID, &regNo, &unit, &caller, &at)
	return events.Hop{Hop: events.HopConfirmed, At: at, Table: events.GatewayTable, RowID: id, Version: at, Unit: unit,
		Registration: regID, RegNo: regNo, Detail: &events.HopDetail{Event: action.EventType(), Caller: caller}}, err
}
