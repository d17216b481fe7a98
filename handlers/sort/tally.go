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

// report tells the sorter's OnBatch what a committed batch decided. A decision counts when it changed what the
// ledger holds for the row — a new version, or a new verdict on the same one — so that a version decided again
// in vain (a parent pulled for a child when another batch had just decided it) does not count twice. A row
// decided more than once in one batch counts once, with its last verdict; a version decided again later
// (released from parking, carried along by a family that moved) counts again. Rows the batch set aside count as
// quarantined, not as decided, once: the store says which it had not set aside before (a redelivered record is
// sorted again). Rows the batch rejects are counted where they are recorded, by the quarantine topic's recorder.
func (s *Sorter) report(b *batch) {
	if s.OnBatch == nil {
		return
	}
	t := Tally{Decisions: map[Verdict]int{}, Quarantined: b.written.Quarantined}
	if t.Quarantined == nil {
		t.Quarantined = map[string]int{}
	}
	set := map[Ref]bool{}
	for _, q := range b.out.quarantine {
		set[Ref{Table: q.Version.Table, ID: q.Version.ID}] = true
	}
	for ref, row := range b.out.ledger.last {
		if prior, known := b.before[ref]; !set[ref] && (!known || !sameEntry(prior, row.Entry)) {
			t.Decisions[Verdict{Table: ref.Table, Unit: verdictName(row.Entry)}]++
		}
	}
	s.OnBatch(t)
}

// priors are the ledger entries a batch read, before it decided anything about them.
type priors map[Ref]Entry

// note keeps the entries the ledger returned; fetchLedger asks for each row once per batch.
func (p *priors) note(found map[Ref]Entry) {
	if *p == nil {
		*p = make(priors, len(found))
	}
	for r, e := range found {
		(*p)[r] = e
	}
}

// sameEntry compares entries by instant: the ledger's times and the captured ones differ in location.
func sameEntry(a, b Entry) bool {
	return a.UpdateTime.Equal(b.UpdateTime) && a.Digest == b.Digest && a.Decided == b.Decided && a.Placement == b.Placement
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
