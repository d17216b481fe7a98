package report

import (
	"strings"
	"time"
)

// Section is one table of the report as the text, CSV and HTML renderings show it; Data is what its JSON holds.
type Section struct {
	Name    string // file name without extension
	Title   string
	Columns []string
	Rows    [][]any
	Data    any
}

// Sections are the report's tables in the order it shows them.
func (r Report) Sections() []Section {
	return []Section{r.captureSection(), r.unitSection(), r.flowSection(), r.groupSection(), r.workOrderSection(), r.timeLimitSection(),
		r.overdueSection(), r.findingSection(), r.findingRowSection(), r.reconcileSection(), r.differenceSection()}
}

func (r Report) captureSection() Section {
	s := Section{Name: "capture", Title: "Captured from the national platform (下载), per table",
		Columns: []string{"table", "pages", "rows_read", "rows_published", "errors"}, Data: r.Capture}
	for _, l := range r.Capture {
		s.Rows = append(s.Rows, []any{l.Table, l.Pages, l.RowsRead, l.RowsPublished, l.Errors})
	}
	return s
}

func (r Report) flowSection() Section {
	s := Section{Name: "flow", Title: "Captured, stored, published and acknowledged (下载、存储、分发、确认), per unit and table",
		Columns: []string{"unit", "table", "captured", "stored", "removed", "published", "acknowledged", "held", "held_deleted"}, Data: r.Flow}
	for _, l := range r.Flow {
		var acked any
		if l.Acknowledged != nil {
			acked = *l.Acknowledged
		}
		s.Rows = append(s.Rows, []any{l.Unit, l.Table, l.Captured, l.Stored, l.Removed, l.Published, acked, l.Held, l.HeldDeleted})
	}
	return s
}

// unitSection sums the flow per unit, for the terminal and a glance; the flow section has it per table.
func (r Report) unitSection() Section {
	s := Section{Name: "flow_units", Title: "Captured, stored, published and acknowledged, per unit (all tables)",
		Columns: []string{"unit", "captured", "stored", "removed", "published", "acknowledged", "held"}}
	var units []FlowLine
	for _, l := range r.Flow {
		n := len(units)
		if n == 0 || units[n-1].Unit != l.Unit {
			units = append(units, FlowLine{Unit: l.Unit})
			n++
		}
		u := &units[n-1]
		u.Captured, u.Stored, u.Removed, u.Published, u.Held = u.Captured+l.Captured, u.Stored+l.Stored, u.Removed+l.Removed,
			u.Published+l.Published, u.Held+l.Held
		if l.Acknowledged != nil {
			u.Acknowledged = ptr(deref(u.Acknowledged) + *l.Acknowledged)
		}
	}
	for _, u := range units {
		var acked any
		if u.Acknowledged != nil {
			acked = *u.Acknowledged
		}
		s.Rows = append(s.Rows, []any{u.Unit, u.Captured, u.Stored, u.Removed, u.Published, acked, u.Held})
	}
	s.Data = units
	return s
}

func ptr(n int64) *int64 { return &n }

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func (r Report) groupSection() Section {
	s := Section{Name: "consumer_groups", Title: "District consumer groups (区局消费确认)",
		Columns: []string{"unit", "group", "published", "acknowledged", "error"}, Data: r.Groups}
	for _, g := range r.Groups {
		s.Rows = append(s.Rows, []any{g.Unit, g.Group, g.Published, g.Acknowledged, orNil(g.Error)})
	}
	return s
}

func (r Report) workOrderSection() Section {
	s := Section{Name: "work_orders", Title: "Work orders registered, by kind and status (工单：诉求类型、状态)",
		Columns: []string{"unit", "kind", "kind_label", "status", "status_label", "count"}, Data: r.WorkOrders}
	for _, w := range r.WorkOrders {
		s.Rows = append(s.Rows, []any{w.Unit, w.Kind, w.KindLabel, w.Status, w.StatusLabel, w.Count})
	}
	return s
}

func (r Report) timeLimitSection() Section {
	s := Section{Name: "time_limits", Title: "Time limits due in the period, in working days (时限：工作日)",
		Columns: []string{"unit", "rule", "due", "met", "overdue"}, Data: r.TimeLimits}
	for _, l := range r.TimeLimits {
		s.Rows = append(s.Rows, []any{l.Unit, l.Rule, l.Due, l.Met, l.Overdue})
	}
	return s
}

func (r Report) overdueSection() Section {
	s := Section{Name: "overdue", Title: "Work orders past a time limit (超期工单)",
		Columns: []string{"rule", "unit", "registration_id", "row_id", "start", "deadline", "done"}, Data: r.Overdue}
	for _, o := range r.Overdue {
		var done any
		if o.Done != nil {
			done = o.Done.String()
		}
		s.Rows = append(s.Rows, []any{o.Rule, o.Unit, o.RegistrationID, o.RowID, o.Start.String(), o.Deadline.String(), done})
	}
	return s
}

func (r Report) findingSection() Section {
	s := Section{Name: "findings", Title: "Data validation, per rule and table (数据校验)",
		Columns: []string{"rule", "table", "count", "first_ids"}, Data: r.Findings}
	for _, f := range r.Findings {
		s.Rows = append(s.Rows, []any{f.Rule, f.Table, f.Count, strings.Join(r.firstIDs(f, 5), " ")})
	}
	return s
}

// firstIDs are the first n row ids a rule found in a table.
func (r Report) firstIDs(c FindingCount, n int) []string {
	var ids []string
	for _, f := range r.FindingRows {
		if f.Rule == c.Rule && f.Table == c.Table && len(ids) < n {
			ids = append(ids, f.RowID)
		}
	}
	if c.Count > int64(n) {
		ids = append(ids, "…")
	}
	return ids
}

func (r Report) findingRowSection() Section {
	s := Section{Name: "finding_rows", Title: "Data validation findings, row by row",
		Columns: []string{"rule", "table", "row_id", "unit", "detail"}, Data: r.FindingRows}
	for _, f := range r.FindingRows {
		s.Rows = append(s.Rows, []any{f.Rule, f.Table, f.RowID, orNil(f.Unit), f.Detail})
	}
	return s
}

func (r Report) reconcileSection() Section {
	s := Section{Name: "reconcile_runs", Title: "Reconciliation runs (数据核对)",
		Columns: []string{"id", "trigger", "checks", "dry_run", "started_at", "finished_at", "outcome", "missing", "repaired", "error"},
		Data:    r.Reconcile}
	for _, run := range r.Reconcile {
		var finished any
		if run.FinishedAt != nil {
			finished = localTime(*run.FinishedAt)
		}
		s.Rows = append(s.Rows, []any{run.ID, run.Trigger, strings.Join(run.Checks, "+"), run.DryRun, localTime(run.StartedAt),
			finished, orNil(run.Outcome), run.Missing, run.Repaired, orNil(run.Error)})
	}
	return s
}

func (r Report) differenceSection() Section {
	s := Section{Name: "reconcile_findings", Title: "What reconciliation found missing or repaired",
		Columns: []string{"check", "subject", "unit", "table", "runs", "pending", "missing", "repaired"}, Data: r.Differences}
	for _, d := range r.Differences {
		s.Rows = append(s.Rows, []any{d.Check, d.Subject, orNil(d.Unit), orNil(d.Table), d.Runs, d.Pending, d.Missing, d.Repaired})
	}
	return s
}

func localTime(t time.Time) string { return t.In(Shanghai).Format("2006-01-02 15:04:05") }

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
