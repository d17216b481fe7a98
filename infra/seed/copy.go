package seed

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/events"
)

// Table indexes, in the catalogue's dependency order.
const (
	tOrg = iota
	tPer
	tDict
	tReg
	tInf
	tSub
	tObj
	tIfb
	tFfb
	tMed
	tCas
	tSup
	numTables
)

type tableDef struct {
	name   string
	prefix string // id prefix, e.g. "REG-"
	cols   []string
}

var common = []string{"id", "update_time", "is_deleted"}

func cols(extra ...string) []string { return append(append([]string{}, common...), extra...) }

var tables = [numTables]tableDef{
	tOrg:  {events.Organization, "ORG-", cols("parent_id", "name", "division_code")},
	tPer:  {events.Personnel, "PER-", cols("org_id", "name", "phone")},
	tDict: {events.Dictionary, "DIC-", cols("dict_type", "code", "label", "division_code")},
	tReg: {events.Registration, "REG-", cols("reg_no", "kind", "registrar_id", "status", "handle_dept_id", "handler_id",
		"division_code", "summary", "registered_at")},
	tInf: {events.InfoProvider, "INF-", cols("registration_id", "name", "phone", "id_card_no", "address")},
	tSub: {events.Subject, "SUB-", cols("registration_id", "name", "uscc", "business_division_code", "address")},
	tObj: {events.Object, "OBJ-", cols("registration_id", "category", "name", "brand", "amount")},
	tIfb: {events.InitialFeedback, "IFB-", cols("registration_id", "dept_id", "handler_id", "result", "content", "feedback_at")},
	tFfb: {events.FinalFeedback, "FFB-", cols("registration_id", "dept_id", "handler_id", "result", "recovered_amount",
		"content", "finished_at")},
	tMed: {events.Mediation, "MED-", cols("registration_id", "dept_id", "result", "mediated_at")},
	tCas: {events.CaseInfo, "CAS-", cols("registration_id", "case_no", "filing_org_id", "filed_at")},
	tSup: {events.Supervision, "SUP-", cols("registration_id", "supervising_org_id", "supervised_org_id", "deadline", "content")},
}

// rows holds one table's rows of a chunk in one flat slice, reused from chunk to chunk.
type rows struct {
	width int
	vals  []any
}

func (r *rows) add(v ...any) { r.vals = append(r.vals, v...) }
func (r *rows) len() int     { return len(r.vals) / r.width }

func (r *rows) reset() {
	clear(r.vals)
	r.vals = r.vals[:0]
}

// rowSource feeds a rows buffer to CopyFrom.
type rowSource struct {
	r *rows
	i int
}

func (s *rowSource) Next() bool {
	s.i++
	return s.i <= s.r.len()
}

func (s *rowSource) Values() ([]any, error) {
	return s.r.vals[(s.i-1)*s.r.width : s.i*s.r.width], nil
}

func (s *rowSource) Err() error { return nil }

// batch is one chunk of rows for every table.
type batch [numTables]rows

func newBatch() *batch {
	var b batch
	for i := range b {
		b[i].width = len(tables[i].cols)
	}
	return &b
}

func (b *batch) reset() {
	for i := range b {
		b[i].reset()
	}
}

// copyTo writes the batch with one COPY per non-empty table.
func (b *batch) copyTo(ctx context.Context, tx pgx.Tx, st Stats) error {
	for i := range b {
		if b[i].len() == 0 {
			continue
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{tables[i].name}, tables[i].cols, &rowSource{r: &b[i]})
		if err != nil {
			return fmt.Errorf("copy into %s: %w", tables[i].name, err)
		}
		st.Rows[tables[i].name] += int(n)
	}
	return nil
}

// text maps the empty string to NULL.
func text(s string) any {
	if s == "" {
		return nil
	}
	return s
}
