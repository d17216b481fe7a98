package sort

// Tally is what one committed batch decided, for metrics: how many rows of which table got which verdict, and how
// many of each table were set aside. It is counted once per batch from what the batch writes, so that a busy
// sorter pays a few map increments per batch rather than a metric update per row.
type Tally struct {
	Decisions   map[Verdict]int
	Quarantined map[string]int // by table
}

// Verdict names a decision: the unit a row went to (a unit code or broadcast), NotWuhan, or Parked.
type Verdict struct{ Table, Unit string }

// Verdicts that are not a unit's.
const (
	NotWuhan = "not_wuhan" // decided, and not Wuhan's (or no longer)
	Parked   = "parked"    // waiting for its parent; counted again once it is decided
)

// report tells the sorter's OnBatch what a committed batch decided. A row decided more than once in one batch
// counts once, with its last verdict; a row version decided again later (released from parking, carried along by
// a family that moved) counts again. Rows set aside count as quarantined, not as decided.
func (s *Sorter) report(b *batch) {
	if s.OnBatch == nil {
		return
	}
	t := Tally{Decisions: map[Verdict]int{}, Quarantined: map[string]int{}}
	set := map[Ref]bool{}
	for _, q := range b.out.quarantine {
		t.Quarantined[q.Version.Table]++
		set[Ref{Table: q.Version.Table, ID: q.Version.ID}] = true
	}
	for _, r := range b.rejected {
		t.Quarantined[r.Version.Table]++
	}
	for ref, row := range b.out.ledger.last {
		if !set[ref] {
			t.Decisions[Verdict{Table: ref.Table, Unit: verdictName(row.Entry)}]++
		}
	}
	s.OnBatch(t)
}

func verdictName(e Entry) string {
	switch {
	case !e.Decided:
		return Parked
	case e.Unit == "":
		return NotWuhan
	}
	return e.Unit
}
