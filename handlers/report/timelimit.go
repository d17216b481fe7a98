package report

import (
	"cmp"
	"slices"
	"time"
)

// A time-limit rule of 《市场监督管理投诉举报处理暂行办法》 (SAMR Order 20), counted in working days after the day
// its clock starts (that day itself not counted, as the law counts periods).
type Limit struct {
	Rule     string `json:"rule"`
	Workdays int    `json:"workdays"`
	Meaning  string `json:"meaning"`
}

// The time limits the report checks. Their clocks, as the store's columns give them:
//   - acceptance: a complaint's registered_at → its first initial_feedback.feedback_at (accepted, refused or
//     passed on: a decision either way);
//   - mediation: a complaint's acceptance (its first initial_feedback with result 1) → its first
//     mediation.mediated_at, for complaints under mediation (a mediation row or status 40 调解中);
//   - feedback: a report's case filing (case_info.filed_at) → the first final_feedback.finished_at on or after it,
//     the reporter being told of the decision.
var (
	Acceptance = Limit{"acceptance", 7, "complaint accepted or refused within 7 working days of registration (Art. 14)"}
	Mediation  = Limit{"mediation", 45, "mediation concluded within 45 working days of acceptance (Art. 21)"}
	Feedback   = Limit{"feedback", 5, "reporter told within 5 working days of the case decision (Art. 31)"}
	Limits     = []Limit{Acceptance, Mediation, Feedback}
)

// LookBack is how far before a period a clock may have started and still end in it: 45 working days with the
// longest holidays stay well within it.
const LookBack = 120 * 24 * time.Hour

// Clock is one work order's running time limit, as the store holds it.
type Clock struct {
	Rule           string
	Unit           string
	RegistrationID string
	RowID          string
	Start          time.Time
	Done           *time.Time // when it was met; nil: not yet
}

// EvaluateLimits counts the clocks whose deadline falls in the period and lists the overdue ones.
func EvaluateLimits(cal Calendar, p Period, clocks []Clock) ([]TimeLimitLine, []OverdueItem) {
	workdays := map[string]int{}
	for _, l := range Limits {
		workdays[l.Rule] = l.Workdays
	}
	lines := map[[2]string]*TimeLimitLine{}
	var overdue []OverdueItem
	for _, c := range clocks {
		start := DayOf(c.Start)
		deadline := cal.AddWorkdays(start, workdays[c.Rule])
		if !p.Contains(deadline) {
			continue
		}
		key := [2]string{c.Unit, c.Rule}
		if lines[key] == nil {
			lines[key] = &TimeLimitLine{Unit: c.Unit, Rule: c.Rule}
		}
		l := lines[key]
		l.Due++
		if c.Done != nil && !DayOf(*c.Done).After(deadline) {
			l.Met++
			continue
		}
		l.Overdue++
		item := OverdueItem{Rule: c.Rule, Unit: c.Unit, RegistrationID: c.RegistrationID, RowID: c.RowID, Start: start, Deadline: deadline}
		if c.Done != nil {
			d := DayOf(*c.Done)
			item.Done = &d
		}
		overdue = append(overdue, item)
	}
	out := make([]TimeLimitLine, 0, len(lines))
	for _, l := range lines {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b TimeLimitLine) int { return cmp.Or(cmp.Compare(a.Unit, b.Unit), cmp.Compare(a.Rule, b.Rule)) })
	slices.SortFunc(overdue, func(a, b OverdueItem) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Unit, b.Unit), cmp.Compare(a.RegistrationID, b.RegistrationID), cmp.Compare(a.RowID, b.RowID))
	})
	return out, overdue
}
