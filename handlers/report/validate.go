package report

import "hotline-bridge/events"

// Validation rules: what the report checks in the rows stored in the period, and in what parking and quarantine
// hold. A finding names the row by id and says what is wrong with column names and codes, never values.
const (
	RuleRequired          = "required_missing"    // a column the work needs is NULL or empty
	RuleUnknownCode       = "unknown_code"        // a code the data dictionary does not have
	RuleOrphanWaiting     = "orphan_waiting"      // parked: its parent has not arrived
	RuleOrphanQuarantined = "orphan_quarantined"  // quarantined in the period: its parent never arrived
	RuleQuarantined       = "quarantined"         // quarantined in the period for another reason
	RuleImpossibleDate    = "impossible_date"     // before its work order's registration, or in the future
	RuleAmountRange       = "amount_out_of_range" // negative, or over MaxAmount yuan
)

// Rules lists every rule in the order the report shows them.
var Rules = []string{RuleRequired, RuleUnknownCode, RuleOrphanWaiting, RuleOrphanQuarantined, RuleQuarantined,
	RuleImpossibleDate, RuleAmountRange}

// MaxAmount is the largest amount in yuan a single object or recovery plausibly has (1亿元); above it, or below
// zero, a value is a typing or unit error.
const MaxAmount = 100_000_000

// Check is one column rule over one table of the store.
type Check struct {
	Rule   string
	Table  string
	Column string
	// DictType is the dictionary's dict_type whose codes the column must hold (RuleUnknownCode).
	DictType string
	// Future: the column must not be after the report's generation (RuleImpossibleDate on the work order itself);
	// otherwise it must not be before its registration's registered_at.
	Future bool
}

// Checks are the column rules, table by table.
var Checks = columnChecks()

func columnChecks() []Check {
	out := requiredChecks()
	out = append(out,
		Check{Rule: RuleUnknownCode, Table: events.Registration, Column: "kind", DictType: "reg_kind"},
		Check{Rule: RuleUnknownCode, Table: events.Registration, Column: "status", DictType: "reg_status"},
		Check{Rule: RuleImpossibleDate, Table: events.Registration, Column: "registered_at", Future: true},
		Check{Rule: RuleImpossibleDate, Table: events.InitialFeedback, Column: "feedback_at"},
		Check{Rule: RuleImpossibleDate, Table: events.FinalFeedback, Column: "finished_at"},
		Check{Rule: RuleImpossibleDate, Table: events.Mediation, Column: "mediated_at"},
		Check{Rule: RuleImpossibleDate, Table: events.CaseInfo, Column: "filed_at"},
		Check{Rule: RuleAmountRange, Table: events.Object, Column: "amount"},
		Check{Rule: RuleAmountRange, Table: events.FinalFeedback, Column: "recovered_amount"})
	return out
}

// required lists, per table, the columns without which a row cannot be worked with or counted.
var required = map[string][]string{
	events.Organization:    {"name"},
	events.Personnel:       {"org_id"},
	events.Dictionary:      {"dict_type", "code"},
	events.Registration:    {"reg_no", "kind", "status", "registered_at"},
	events.InfoProvider:    {"registration_id"},
	events.Subject:         {"registration_id"},
	events.Object:          {"registration_id"},
	events.InitialFeedback: {"registration_id", "result", "feedback_at"},
	events.FinalFeedback:   {"registration_id", "result", "finished_at"},
	events.Mediation:       {"registration_id", "result", "mediated_at"},
	events.CaseInfo:        {"case_no", "filed_at"},
	events.Supervision:     {"supervised_org_id", "deadline"},
}

func requiredChecks() []Check {
	var out []Check
	for _, k := range events.Catalogue {
		for _, col := range required[k.Table] {
			out = append(out, Check{Rule: RuleRequired, Table: k.Table, Column: col})
		}
	}
	return out
}
