package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/events"
	"hotline-bridge/handlers/report"
)

// Clocks returns the time limits whose clocks started in [since, to): see report.Limits for which columns
// start and stop them.
func (r *Reports) Clocks(ctx context.Context, since, to time.Time) ([]report.Clock, error) {
	reg, ifb, ffb := r.table(events.Registration), r.table(events.InitialFeedback), r.table(events.FinalFeedback)
	med, cas := r.table(events.Mediation), r.table(events.CaseInfo)
	queries := map[string]string{
		report.Acceptance.Rule: fmt.Sprintf(`SELECT r.unit_code, r.id, r.id, r.registered_at,
				(SELECT min(f.feedback_at) FROM %[2]s f WHERE f.registration_id = r.id AND NOT f.is_deleted)
			FROM %[1]s r WHERE NOT r.is_deleted AND r.kind = 1 AND r.registered_at >= $1 AND r.registered_at < $2`, reg, ifb),
		report.Mediation.Rule: fmt.Sprintf(`SELECT r.unit_code, r.id, a.id, a.feedback_at,
				(SELECT min(m.mediated_at) FROM %[3]s m WHERE m.registration_id = r.id AND NOT m.is_deleted)
			FROM %[1]s r JOIN LATERAL (SELECT f.id, f.feedback_at FROM %[2]s f
				WHERE f.registration_id = r.id AND NOT f.is_deleted AND f.result = '1' AND f.feedback_at IS NOT NULL
				ORDER BY f.feedback_at, f.id LIMIT 1) a ON true
			WHERE NOT r.is_deleted AND r.kind = 1 AND a.feedback_at >= $1 AND a.feedback_at < $2
				AND (r.status = '40' OR EXISTS (SELECT FROM %[3]s m WHERE m.registration_id = r.id AND NOT m.is_deleted))`, reg, ifb, med),
		report.Feedback.Rule: fmt.Sprintf(`SELECT c.unit_code, r.id, c.id, c.filed_at,
				(SELECT min(f.finished_at) FROM %[3]s f WHERE f.registration_id = r.id AND NOT f.is_deleted AND f.finished_at >= c.filed_at)
			FROM %[2]s c JOIN %[1]s r ON r.id = c.registration_id
			WHERE NOT c.is_deleted AND NOT r.is_deleted AND r.kind = 2 AND c.filed_at >= $1 AND c.filed_at < $2`, reg, cas, ffb),
	}
	var out []report.Clock
	for _, l := range report.Limits {
		rows, err := r.db.Query(ctx, queries[l.Rule], since, to)
		if err != nil {
			return nil, fmt.Errorf("read the %s clocks: %w", l.Rule, err)
		}
		c := report.Clock{Rule: l.Rule}
		_, err = pgx.ForEachRow(rows, []any{&c.Unit, &c.RegistrationID, &c.RowID, &c.Start, &c.Done}, func() error {
			out = append(out, c)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read the %s clocks: %w", l.Rule, err)
		}
	}
	return out, nil
}

// Findings runs the column checks over the rows of each table stored in the period (an upserted or deleted
// event of theirs in the outbox then), one query per table, and reads parking and the period's quarantine.
func (r *Reports) Findings(ctx context.Context, checks []report.Check, from, to, now time.Time) ([]report.Finding, error) {
	byTable := map[string][]report.Check{}
	for _, c := range checks {
		byTable[c.Table] = append(byTable[c.Table], c)
	}
	var out []report.Finding
	for _, k := range events.Catalogue {
		found, err := r.columnFindings(ctx, k.Table, byTable[k.Table], from, to, now)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	waiting, err := r.parkedFindings(ctx, to)
	if err != nil {
		return nil, err
	}
	quarantined, err := r.quarantineFindings(ctx, from, to)
	return append(append(out, waiting...), quarantined...), err
}

func (r *Reports) columnFindings(ctx context.Context, table string, checks []report.Check, from, to, now time.Time) ([]report.Finding, error) {
	if len(checks) == 0 {
		return nil, nil
	}
	details := make([]string, len(checks))
	args := []any{table, from, to}
	for i, c := range checks {
		details[i] = r.detail(c)
		if c.Future && len(args) == 3 {
			args = append(args, now) // $4 only where a check reads it: pgx refuses an argument the query lacks
		}
	}
	query := fmt.Sprintf(`WITH touched AS (SELECT DISTINCT unit_code, row_id FROM bridge.outbox
			WHERE table_name = $1 AND created_at >= $2 AND created_at < $3 AND event_type NOT LIKE '%%.removed')
		SELECT t.id, t.unit_code, ARRAY[%s]
		FROM %s t JOIN touched o ON o.unit_code = t.unit_code AND o.row_id = t.id %s`,
		strings.Join(details, ", "), r.table(table), r.registrationJoin(table))
	rows, err := r.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("check %s.%s: %w", r.schema, table, err)
	}
	var out []report.Finding
	var id, unit string
	var found []*string
	_, err = pgx.ForEachRow(rows, []any{&id, &unit, &found}, func() error {
		for i, d := range found {
			if d != nil {
				out = append(out, report.Finding{Rule: checks[i].Rule, Table: table, RowID: id, Unit: unit, Detail: *d})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check %s.%s: %w", r.schema, table, err)
	}
	return out, nil
}

// registrationJoin brings a family row's registration, whose registered_at its own dates must not precede.
func (r *Reports) registrationJoin(table string) string {
	if table == events.Registration {
		return ""
	}
	for _, k := range events.Catalogue {
		if k.Table == table && k.RegistrationColumn != "" {
			return fmt.Sprintf("LEFT JOIN %s reg ON reg.id = t.%s", r.table(events.Registration), pgx.Identifier{k.RegistrationColumn}.Sanitize())
		}
	}
	return ""
}

// detail is the SQL text of what a check says about a row it finds, NULL for a row it passes: column names, codes
// of the dictionary's kinds, never a value of the row's content.
func (r *Reports) detail(c report.Check) string {
	col := "t." + pgx.Identifier{c.Column}.Sanitize()
	name := quoteText(c.Column)
	switch {
	case c.Rule == report.RuleRequired:
		return fmt.Sprintf(`CASE WHEN nullif(btrim(%s::text), '') IS NULL THEN %s || ' is empty' END`, col, name)
	case c.Rule == report.RuleUnknownCode:
		return fmt.Sprintf(`CASE WHEN nullif(btrim(%[1]s::text), '') IS NOT NULL AND NOT EXISTS (SELECT FROM %[2]s d
				WHERE d.dict_type = %[3]s AND d.code = %[1]s::text AND NOT d.is_deleted)
			THEN %[4]s || ' ' || left(%[1]s::text, 16) || ' is not a ' || %[3]s || ' code' END`,
			col, r.table(events.Dictionary), quoteText(c.DictType), name)
	case c.Rule == report.RuleImpossibleDate && c.Future:
		// An hour's grace for the clocks of the upstream and this host.
		return fmt.Sprintf(`CASE WHEN %s > $4::timestamptz + interval '1 hour' THEN %s || ' is in the future' END`, col, name)
	case c.Rule == report.RuleImpossibleDate && !c.Future:
		return fmt.Sprintf(`CASE WHEN %s < reg.registered_at THEN %s || ' is before its registration''s registered_at' END`, col, name)
	default: // report.RuleAmountRange
		return fmt.Sprintf(`CASE WHEN %s < 0 OR %s > %d THEN %s || ' is outside 0..%d yuan' END`, col, col, report.MaxAmount, name, report.MaxAmount)
	}
}

func quoteText(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// parkedFindings are the rows parked before the period ended that still wait for their parent.
func (r *Reports) parkedFindings(ctx context.Context, to time.Time) ([]report.Finding, error) {
	rows, err := r.db.Query(ctx, `SELECT table_name, id, 'waiting for ' || waiting_table || ' ' || waiting_id || ' since ' ||
			to_char(parked_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')
		FROM bridge.parked WHERE parked_at < $1`, to)
	if err != nil {
		return nil, fmt.Errorf("read parking: %w", err)
	}
	var out []report.Finding
	f := report.Finding{Rule: report.RuleOrphanWaiting}
	_, err = pgx.ForEachRow(rows, []any{&f.Table, &f.RowID, &f.Detail}, func() error { out = append(out, f); return nil })
	if err != nil {
		return nil, fmt.Errorf("read parking: %w", err)
	}
	return out, nil
}

// quarantineFindings are the rows quarantined in the period, orphans apart; a reason names tables, ids and
// columns, never values.
func (r *Reports) quarantineFindings(ctx context.Context, from, to time.Time) ([]report.Finding, error) {
	rows, err := r.db.Query(ctx, `SELECT DISTINCT table_name, row_id, reason FROM bridge.quarantine
		WHERE quarantined_at >= $1 AND quarantined_at < $2`, from, to)
	if err != nil {
		return nil, fmt.Errorf("read the quarantine: %w", err)
	}
	var out []report.Finding
	var f report.Finding
	_, err = pgx.ForEachRow(rows, []any{&f.Table, &f.RowID, &f.Detail}, func() error {
		f.Rule = report.RuleQuarantined
		if strings.HasPrefix(f.Detail, "orphan:") {
			f.Rule = report.RuleOrphanQuarantined
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the quarantine: %w", err)
	}
	return out, nil
}

// Reconciliation reads the runs started in the period and sums their findings that were not clean.
func (r *Reports) Reconciliation(ctx context.Context, from, to time.Time) ([]report.ReconcileRun, []report.ReconcileResult, error) {
	rows, err := r.db.Query(ctx, `SELECT id, trigger, checks, dry_run, started_at, finished_at, coalesce(outcome, ''),
			coalesce(missing, 0), coalesce(repaired, 0), coalesce(error, '')
		FROM bridge.reconcile_run WHERE started_at >= $1 AND started_at < $2 ORDER BY id`, from, to)
	if err != nil {
		return nil, nil, fmt.Errorf("read reconciliation runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[report.ReconcileRun])
	if err != nil {
		return nil, nil, fmt.Errorf("read reconciliation runs: %w", err)
	}
	rows, err = r.db.Query(ctx, `SELECT f.check_name, f.subject, coalesce(f.unit_code, ''), coalesce(f.table_name, ''),
			count(DISTINCT f.run_id), sum(f.pending)::bigint, sum(f.missing)::bigint, sum(f.repaired)::bigint
		FROM bridge.reconcile_finding f JOIN bridge.reconcile_run r ON r.id = f.run_id
		WHERE r.started_at >= $1 AND r.started_at < $2 AND (f.pending > 0 OR f.missing > 0 OR f.repaired > 0)
		GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`, from, to)
	if err != nil {
		return nil, nil, fmt.Errorf("read reconciliation findings: %w", err)
	}
	results, err := pgx.CollectRows(rows, pgx.RowToStructByPos[report.ReconcileResult])
	if err != nil {
		return nil, nil, fmt.Errorf("read reconciliation findings: %w", err)
	}
	return runs, results, nil
}
