package report

import "time"

// Report is one period's indicators. Every field is an id, a code, a count or a time: never row content.
type Report struct {
	Period      Period            `json:"period"`
	GeneratedAt time.Time         `json:"generated_at"`
	Capture     []CaptureLine     `json:"capture"`
	Flow        []FlowLine        `json:"flow"`
	Groups      []GroupLine       `json:"consumer_groups"`
	WorkOrders  []WorkOrderLine   `json:"work_orders"`
	TimeLimits  []TimeLimitLine   `json:"time_limits"`
	Overdue     []OverdueItem     `json:"overdue"`
	Findings    []FindingCount    `json:"findings"`
	FindingRows []Finding         `json:"finding_rows"`
	Reconcile   []ReconcileRun    `json:"reconcile_runs"`
	Differences []ReconcileResult `json:"reconcile_findings"`
	Notes       []string          `json:"notes"`
}

// CaptureLine is the download log of one table over the period: national rows, before sorting.
type CaptureLine struct {
	Table         string `json:"table"`
	Pages         int64  `json:"pages"`
	RowsRead      int64  `json:"rows_read"`
	RowsPublished int64  `json:"rows_published"`
	Errors        int64  `json:"errors"`
}

// FlowLine is one unit's and table's flow: Captured counts the row versions captured and decided as the unit's
// in the period (the audit trail's decided hops; the download log is per table only, as capture reads national
// rows before anyone knows their unit), Stored counts the store writes of the period (upserted or deleted
// events, which the store commits with its rows), Removed the rows that left the unit, Published the events the
// broker took in the period, Acknowledged those below the unit's consumer group's committed offset (nil when no
// group is configured or its offsets could not be read), Held the rows the store holds for the unit now.
type FlowLine struct {
	Unit         string `json:"unit"`
	Table        string `json:"table,omitempty"` // empty in the per-unit sums
	Captured     int64  `json:"captured"`
	Stored       int64  `json:"stored"`
	Removed      int64  `json:"removed"`
	Published    int64  `json:"published"`
	Acknowledged *int64 `json:"acknowledged"`
	Held         int64  `json:"held"`
	HeldDeleted  int64  `json:"held_deleted"`
}

// GroupLine is a configured district consumer group: what of the period's events on its unit's topic it has
// committed past.
type GroupLine struct {
	Unit         string `json:"unit"`
	Group        string `json:"group"`
	Published    int64  `json:"published"`
	Acknowledged int64  `json:"acknowledged"`
	Error        string `json:"error,omitempty"`
}

// WorkOrderLine counts the work orders registered in the period by unit, kind (诉求类型) and current status.
type WorkOrderLine struct {
	Unit        string `json:"unit"`
	Kind        string `json:"kind"`
	KindLabel   string `json:"kind_label"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	Count       int64  `json:"count"`
}

// TimeLimitLine counts, per unit and rule, the work orders whose time limit ended in the period: met when done
// on or before the deadline day, overdue otherwise.
type TimeLimitLine struct {
	Unit    string `json:"unit"`
	Rule    string `json:"rule"`
	Due     int64  `json:"due"`
	Met     int64  `json:"met"`
	Overdue int64  `json:"overdue"`
}

// OverdueItem is one work order that missed a time limit ending in the period.
type OverdueItem struct {
	Rule           string `json:"rule"`
	Unit           string `json:"unit"`
	RegistrationID string `json:"registration_id"`
	RowID          string `json:"row_id"` // the row the limit runs from: the registration, feedback or case
	Start          Day    `json:"start"`
	Deadline       Day    `json:"deadline"`
	Done           *Day   `json:"done"` // nil: not done at all
}

// FindingCount is how many rows one validation rule found in one table.
type FindingCount struct {
	Rule  string `json:"rule"`
	Table string `json:"table"`
	Count int64  `json:"count"`
}

// Finding is one row a validation rule found: its id and what is wrong in codes and column names.
type Finding struct {
	Rule   string `json:"rule"`
	Table  string `json:"table"`
	RowID  string `json:"row_id"`
	Unit   string `json:"unit"`
	Detail string `json:"detail"`
}

// ReconcileRun is a reconciliation run started in the period.
type ReconcileRun struct {
	ID         int64      `json:"id"`
	Trigger    string     `json:"trigger"`
	Checks     []string   `json:"checks"`
	DryRun     bool       `json:"dry_run"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Outcome    string     `json:"outcome"`
	Missing    int64      `json:"missing"`
	Repaired   int64      `json:"repaired"`
	Error      string     `json:"error,omitempty"`
}

// ReconcileResult sums the period's reconciliation findings that were not clean, per check, subject, unit and
// table.
type ReconcileResult struct {
	Check    string `json:"check"`
	Subject  string `json:"subject"`
	Unit     string `json:"unit"`
	Table    string `json:"table"`
	Runs     int64  `json:"runs"`
	Pending  int64  `json:"pending"`
	Missing  int64  `json:"missing"`
	Repaired int64  `json:"repaired"`
}
