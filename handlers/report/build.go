package report

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Builder assembles a report from the store and, for the acknowledgements, the broker.
type Builder struct {
	Store Store
	// Groups is nil when no broker is configured: acknowledgements are then not measured.
	Groups Groups
	// ConsumerGroups names each district's consumer group by unit code.
	ConsumerGroups map[string]string
	// Topic names a unit's topic.
	Topic    func(unit string) string
	Calendar Calendar
	Now      func() time.Time
}

// Build reads everything the report shows for p.
func (b Builder) Build(ctx context.Context, p Period) (Report, error) {
	from, to := p.From(), p.To()
	r := Report{Period: p, GeneratedAt: b.Now().UTC().Truncate(time.Second)}
	var err error
	if r.Capture, err = b.Store.Capture(ctx, from, to); err != nil {
		return r, err
	}
	if r.Flow, err = b.Store.Flow(ctx, from, to); err != nil {
		return r, err
	}
	r.Groups, r.Notes = b.acknowledge(ctx, r.Flow, from, to)
	if r.WorkOrders, err = b.Store.WorkOrders(ctx, from, to); err != nil {
		return r, err
	}
	clocks, err := b.Store.Clocks(ctx, from.Add(-LookBack), to)
	if err != nil {
		return r, err
	}
	r.TimeLimits, r.Overdue = EvaluateLimits(b.Calendar, p, clocks)
	r.Notes = append(r.Notes, b.calendarNotes(p)...)
	rows, err := b.Store.Findings(ctx, Checks, from, to, r.GeneratedAt)
	if err != nil {
		return r, err
	}
	r.FindingRows, r.Findings = sortFindings(rows), countFindings(rows)
	r.Reconcile, r.Differences, err = b.Store.Reconciliation(ctx, from, to)
	return r, err
}

// acknowledge fills in, for each unit with a configured group, how much of what was published in the period
// the group has committed past. A broker that cannot be asked is a note, not a failure: the rest of the report
// still stands.
func (b Builder) acknowledge(ctx context.Context, flow []FlowLine, from, to time.Time) ([]GroupLine, []string) {
	var groups []GroupLine
	var notes []string
	for _, unit := range slices.Sorted(maps.Keys(b.ConsumerGroups)) {
		g := GroupLine{Unit: unit, Group: b.ConsumerGroups[unit]}
		acked, err := b.acknowledged(ctx, g, from, to)
		if err != nil {
			g.Error = err.Error()
			notes = append(notes, fmt.Sprintf("acknowledgements of unit %s not measured: %v", unit, err))
		}
		for i := range flow {
			if flow[i].Unit != unit {
				continue
			}
			g.Published += flow[i].Published
			if err == nil {
				n := acked[flow[i].Table]
				flow[i].Acknowledged = &n
				g.Acknowledged += n
			}
		}
		groups = append(groups, g)
	}
	return groups, notes
}

func (b Builder) acknowledged(ctx context.Context, g GroupLine, from, to time.Time) (map[string]int64, error) {
	if b.Groups == nil {
		return nil, fmt.Errorf("no broker configured (kafka_brokers)")
	}
	committed, err := b.Groups.Committed(ctx, g.Group, b.Topic(g.Unit))
	if err != nil {
		return nil, err
	}
	return b.Store.Acknowledged(ctx, g.Unit, committed, from, to)
}

// calendarNotes warns of years whose official holidays the calendar does not have yet: their deadlines count
// weekends only and may be early.
func (b Builder) calendarNotes(p Period) []string {
	var notes []string
	for y := DayOf(p.From().Add(-LookBack)).t.Year(); y <= p.Last.t.Year(); y++ {
		if !b.Calendar.Knows(y) {
			notes = append(notes, fmt.Sprintf("the holiday calendar has no official holidays for %d: working days there count weekends only", y))
		}
	}
	return notes
}

func sortFindings(rows []Finding) []Finding {
	slices.SortFunc(rows, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(ruleOrder(a.Rule), ruleOrder(b.Rule)), cmp.Compare(a.Table, b.Table), cmp.Compare(a.RowID, b.RowID), cmp.Compare(a.Detail, b.Detail))
	})
	return rows
}

func ruleOrder(rule string) int { return slices.Index(Rules, rule) }

// countFindings counts sorted findings per rule and table.
func countFindings(rows []Finding) []FindingCount {
	var out []FindingCount
	for _, f := range rows {
		if n := len(out); n > 0 && out[n-1].Rule == f.Rule && out[n-1].Table == f.Table {
			out[n-1].Count++
			continue
		}
		out = append(out, FindingCount{Rule: f.Rule, Table: f.Table, Count: 1})
	}
	return out
}
