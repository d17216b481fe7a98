package reconcile

// Wire names of the checks, as --only and bridge.reconcile_finding.check_name spell them.
const (
	CheckDelivery = "delivery"
	CheckSource   = "source"
)

// Subjects of findings: what a finding counts.
const (
	SubjectUnit      = "unit"           // a unit topic's rows: the summary of one unit
	SubjectPartition = "partition"      // a partition that lost events
	SubjectGroup     = "consumer_group" // a district consumer group's position on one partition
	SubjectTable     = "table"          // an upstream table over the source check's depth: the summary of one table
	SubjectWindow    = "window"         // one unit's rows of one table in one window of update_time that differed
)

// Finding is one counted result of a check. Counts are of rows, except where Detail says otherwise; nothing in it
// names row content.
type Finding struct {
	Check     string
	Subject   string
	Unit      string
	Table     string // for checks per table (source); empty for delivery
	Topic     string
	Partition *int32
	Group     string
	Window    Window // for the source check's windows; zero otherwise
	Expected  int64  // what must be there
	Found     int64  // what is there
	Pending   int64  // on its way (committed, not published yet): neither found nor missing
	Missing   int64  // neither found nor pending
	Repaired  int64  // of the missing, what the run re-sent
	Detail    string
}

// Unrepaired is what the run found missing and did not heal.
func (f Finding) Unrepaired() int64 { return max(f.Missing-f.Repaired, 0) }

// Report is what one run found, in the order the checks reported it.
type Report struct {
	Run      int64
	DryRun   bool
	Findings []Finding
}

// Unrepaired is the findings that still miss something after the run.
func (r Report) Unrepaired() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Unrepaired() > 0 {
			out = append(out, f)
		}
	}
	return out
}

// Outcome sums a run up as bridge.reconcile_run.outcome records it.
func (r Report) Outcome() string {
	repaired := false
	for _, f := range r.Findings {
		if f.Unrepaired() > 0 {
			return OutcomeUnrepaired
		}
		repaired = repaired || f.Repaired > 0
	}
	if repaired {
		return OutcomeRepaired
	}
	return OutcomeConsistent
}

// Outcomes of a run.
const (
	OutcomeConsistent = "consistent"
	OutcomeRepaired   = "repaired"
	OutcomeUnrepaired = "unrepaired"
	OutcomeFailed     = "failed"
)
