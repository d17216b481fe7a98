package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/audit"
	"hotline-bridge/handlers/gateway"
)

// Gateway is the sign-for and feedback gateway's side of the store: its tokens, its requests, the outbox and the
// audit outbox its requests write to, and the dedicated store's rows it checks requests against.
type Gateway struct {
	db     *pgxpool.Pool
	schema string
}

var (
	_ gateway.Store         = (*Gateway)(nil)
	_ gateway.Confirmations = (*Gateway)(nil)
	_ gateway.Tokens        = (*Gateway)(nil)
)

// NewGateway works on db, whose dedicated store is in schema.
func NewGateway(db *pgxpool.Pool, schema string) *Gateway { return &Gateway{db: db, schema: schema} }

// Ping says whether the store answers.
func (g *Gateway) Ping(ctx context.Context) error { return g.db.Ping(ctx) }

// Authenticate finds the caller of a token that is neither expired nor revoked.
func (g *Gateway) Authenticate(ctx context.Context, hash []byte, now time.Time) (string, error) {
	var caller string
	err := g.db.QueryRow(ctx, `SELECT caller FROM bridge.gateway_token
		WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2`, hash, now).Scan(&caller)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", gateway.ErrUnauthenticated
	}
	if err != nil {
		return "", unavailable(fmt.Errorf("authenticate a gateway token: %w", err))
	}
	return caller, nil
}

// Apply runs fn in one transaction. A failure to reach the store, or one it did not answer in time, is
// gateway.ErrUnavailable: nothing was kept, and the caller may send the request again.
func (g *Gateway) Apply(ctx context.Context, fn func(gateway.Tx) error) error {
	err := pgx.BeginFunc(ctx, g.db, func(tx pgx.Tx) error { return fn(&gatewayTx{tx: tx, schema: g.schema}) })
	var p *gateway.Problem
	if err == nil || errors.As(err, &p) || errors.Is(err, gateway.ErrDuplicate) {
		return err
	}
	return unavailable(fmt.Errorf("gateway transaction: %w", err))
}

// unavailable marks what is the store's absence rather than a fault of the statement: anything the server did
// not answer with an SQL error, and the server's own connection, resource and shutdown errors.
func unavailable(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if class := pgErr.Code[:2]; class != "08" && class != "53" && class != "57" {
			return err
		}
	}
	return fmt.Errorf("%w: %w", gateway.ErrUnavailable, err)
}

type gatewayTx struct {
	tx     pgx.Tx
	schema string
}

func (t *gatewayTx) Previous(ctx context.Context, caller, key string) (gateway.Kept, bool, error) {
	k := gateway.Kept{Caller: caller, IdempotencyKey: key}
	err := t.tx.QueryRow(ctx, `SELECT request_id, body_digest, action, registration_id, reg_no, unit_code, accepted_at,
			payload::text, response
		FROM bridge.gateway_request WHERE caller = $1 AND idempotency_key = $2`, caller, key).
		Scan(&k.RequestID, &k.Digest, &k.Action, &k.RegistrationID, &k.RegNo, &k.Unit, &k.AcceptedAt, &k.Payload, &k.Response)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, false, nil
	}
	if err != nil {
		return k, false, fmt.Errorf("read the request under an idempotency key: %w", err)
	}
	return k, true, nil
}

// WorkOrder finds the work order's id, takes the shared lock the sorter takes on a work order whose family it
// decides (the exclusive one is taken to move it), and only then reads where it is: a transfer committed before
// the lock is seen, one that comes after waits for this transaction.
func (t *gatewayTx) WorkOrder(ctx context.Context, regNo string) (gateway.WorkOrder, error) {
	var wo gateway.WorkOrder
	err := t.tx.QueryRow(ctx, `SELECT coalesce(
			(SELECT id FROM `+t.schema+`.registration WHERE reg_no = $1),
			(SELECT row_id FROM bridge.audit_hop WHERE reg_no = $1 AND table_name = $2 LIMIT 1), '')`,
		regNo, events.Registration).Scan(&wo.RegistrationID)
	if err != nil || wo.RegistrationID == "" {
		return wo, wrapRead("find the work order", err)
	}
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))`,
		events.Registration+":"+wo.RegistrationID); err != nil {
		return wo, fmt.Errorf("lock the work order: %w", err)
	}
	return readWorkOrder(ctx, t.tx, t.schema, wo.RegistrationID)
}

// readWorkOrder reads the work order by id; one the store no longer holds left Wuhan if it was ever stored.
func readWorkOrder(ctx context.Context, q pgx.Tx, schema, id string) (gateway.WorkOrder, error) {
	wo := gateway.WorkOrder{RegistrationID: id}
	err := q.QueryRow(ctx, `SELECT unit_code, coalesce(handle_dept_id, ''), coalesce(status, ''), coalesce(handler_id, '')
		FROM `+schema+`.registration WHERE id = $1`, id).Scan(&wo.Unit, &wo.HandleDeptID, &wo.Status, &wo.HandlerID)
	if err == nil {
		wo.Found = true
		return wo, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return wo, fmt.Errorf("read the work order: %w", err)
	}
	err = q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM bridge.audit_hop WHERE table_name = $1 AND row_id = $2 AND hop = $3)`,
		events.Registration, id, events.HopStored).Scan(&wo.LeftWuhan)
	return wo, wrapRead("read where the work order went", err)
}

func wrapRead(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (t *gatewayTx) Signed(ctx context.Context, registrationID, unit string) (bool, error) {
	var signed bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM bridge.gateway_request
		WHERE registration_id = $1 AND unit_code = $2 AND action = $3)`, registrationID, unit, gateway.ActionSign).Scan(&signed)
	return signed, wrapRead("read the work order's sign-for", err)
}

func (t *gatewayTx) PersonnelUnit(ctx context.Context, personnelID string) (string, error) {
	var unit string
	err := t.tx.QueryRow(ctx, `SELECT unit_code FROM `+t.schema+`.personnel WHERE id = $1 AND NOT is_deleted`, personnelID).Scan(&unit)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return unit, wrapRead("read the clerk's unit", err)
}

func (t *gatewayTx) InDictionary(ctx context.Context, dictType, code string) (bool, error) {
	var ok bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM `+t.schema+`.dictionary
		WHERE dict_type = $1 AND code = $2 AND NOT is_deleted)`, dictType, code).Scan(&ok)
	return ok, wrapRead("read the dictionary", err)
}

// Keep writes the events first, the upstream-bound one last, so that the request row can name its seq.
func (t *gatewayTx) Keep(ctx context.Context, k gateway.Kept, out []events.Distribution, hop events.Hop) error {
	var b pgx.Batch
	for _, d := range out {
		b.Queue(`INSERT INTO bridge.outbox (event_id, unit_code, event_type, table_name, row_id, record_key, row_time, payload)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, d.EventID, d.Unit, d.Type, d.Table, d.RowID, d.Key, d.RowTime, string(d.Payload)).
			Fn = failure("write the %s event of a gateway request", d.Unit)
	}
	b.Queue(`INSERT INTO bridge.gateway_request (request_id, caller, idempotency_key, body_digest, action, registration_id,
			reg_no, unit_code, payload, response, accepted_at, upstream_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, currval('bridge.outbox_seq_seq'))`,
		k.RequestID, k.Caller, k.IdempotencyKey, k.Digest, k.Action, k.RegistrationID, k.RegNo, k.Unit,
		string(k.Payload), string(k.Response), k.AcceptedAt).Fn = func(br pgx.BatchResults) error {
		_, err := br.Exec()
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" && strings.Contains(pgErr.ConstraintName, "idempotency_key") {
			return gateway.ErrDuplicate
		}
		return wrapRead("keep the gateway request", err)
	}
	queueHops(&b, []events.Hop{hop})
	return t.tx.SendBatch(ctx, &b).Close()
}

// View reads the work order, its submissions (delivered once the upstream-bound event is published) and its
// journey.
func (g *Gateway) View(ctx context.Context, regNo string) (gateway.View, error) {
	v := gateway.View{RegNo: regNo}
	err := pgx.BeginTxFunc(ctx, g.db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `SELECT coalesce(
				(SELECT id FROM `+g.schema+`.registration WHERE reg_no = $1),
				(SELECT row_id FROM bridge.audit_hop WHERE reg_no = $1 AND table_name = $2 LIMIT 1), '')`,
			regNo, events.Registration).Scan(&id)
		if err != nil || id == "" {
			return errors.Join(wrapRead("find the work order", err), noWorkOrder(id))
		}
		if v.WorkOrder, err = readWorkOrder(ctx, tx, g.schema, id); err != nil {
			return err
		}
		v.Submissions, err = submissions(ctx, tx, id)
		return err
	})
	if err != nil {
		if errors.Is(err, gateway.ErrNoWorkOrder) {
			return v, err
		}
		return v, unavailable(err)
	}
	if v.Journey, err = NewAuditTrail(g.db).Journey(ctx, audit.Query{RegNo: regNo}); err != nil {
		return v, unavailable(err)
	}
	return v, nil
}

func noWorkOrder(id string) error {
	if id == "" {
		return gateway.ErrNoWorkOrder
	}
	return nil
}

func submissions(ctx context.Context, tx pgx.Tx, registrationID string) ([]gateway.Submission, error) {
	rows, err := tx.Query(ctx, `SELECT r.request_id, r.action, r.caller, r.unit_code, r.accepted_at, o.published_at,
			r.confirmed_at, r.payload::text
		FROM bridge.gateway_request r LEFT JOIN bridge.outbox o ON o.seq = r.upstream_seq
		WHERE r.registration_id = $1 ORDER BY r.accepted_at, r.request_id`, registrationID)
	if err != nil {
		return nil, fmt.Errorf("read the work order's submissions: %w", err)
	}
	subs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (gateway.Submission, error) {
		var s gateway.Submission
		err := r.Scan(&s.RequestID, &s.Action, &s.Caller, &s.Unit, &s.AcceptedAt, &s.DeliveredAt, &s.ConfirmedAt, &s.Payload)
		return s, err
	})
	return subs, wrapRead("read the work order's submissions", err)
}
