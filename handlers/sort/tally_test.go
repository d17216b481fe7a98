package sort_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/sort"
)

// A committed batch reports each row once with its last verdict — a unit, not_wuhan or parked — and the rows it
// newly set aside per table; a parked row released later is reported again with the unit it got. A row the batch
// was given and rejects is not the batch's to count: the quarantine topic's recorder counts it.
func TestSorterTallyCountsEachBatchsVerdictsAndQuarantine(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var tallies []sort.Tally
	w.sorter.OnBatch = func(t sort.Tally) { tallies = append(tallies, t) }
	r1 := w.change(events.Registration, "R1", 10, registration("ORG-420106-S03"))
	bad := version(events.Registration, "BAD", 11, map[string]any{"kind": 1, "division_code": "42A106"})
	rows := []events.RowVersion{
		r1, r1, // a duplicate in the same batch counts once
		w.change(events.Registration, "R2", 10, registration("ORG-420200")),
		version(events.InfoProvider, "C1", 11, child("R-LATER")),
		bad,
	}
	rejected, err := w.sorter.SortBatch(context.Background(), rows)
	if err != nil || len(rejected) != 1 {
		t.Fatalf("SortBatch = %v, %v; want the bad row rejected", rejected, err)
	}
	w.sort(w.change(events.Registration, "R-LATER", 12, registration("ORG-420102-S01")))
	// The same version decided again, as a pulled parent or a released row is, changes nothing and counts nothing.
	if _, _, err := w.sorter.Sweep(context.Background(), again{r1}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// A bad row released from parking is set aside by the batch, and counted once however often it comes again.
	for range 2 {
		if _, _, err := w.sorter.Sweep(context.Background(), again{bad}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}

	want := []sort.Tally{
		{Decisions: map[sort.Verdict]int{
			{Table: events.Registration, Unit: "420106"}: 1, {Table: events.Registration, Unit: sort.NotWuhan}: 1,
			{Table: events.InfoProvider, Unit: sort.Parked}: 1,
		}, Quarantined: map[string]int{}},
		{Decisions: map[sort.Verdict]int{
			{Table: events.Registration, Unit: "420102"}: 1, {Table: events.InfoProvider, Unit: "420102"}: 1,
		}, Quarantined: map[string]int{}},
		{Decisions: map[sort.Verdict]int{}, Quarantined: map[string]int{}},
		{Decisions: map[sort.Verdict]int{}, Quarantined: map[string]int{events.Registration: 1}},
		{Decisions: map[sort.Verdict]int{}, Quarantined: map[string]int{}},
	}
	if len(tallies) != len(want) {
		t.Fatalf("%d batches reported, want %d: %+v", len(tallies), len(want), tallies)
	}
	for i := range want {
		if !maps.Equal(tallies[i].Decisions, want[i].Decisions) || !maps.Equal(tallies[i].Quarantined, want[i].Quarantined) {
			t.Errorf("batch %d reported %+v, want %+v", i+1, tallies[i], want[i])
		}
	}
}

// again hands its rows to Sweep as decidable parked rows: versions the sorter decides again.
type again []events.RowVersion

func (a again) Decidable(context.Context, int) ([]events.RowVersion, error) { return a, nil }

func (again) ExpireOrphans(context.Context, time.Duration) (int, error) { return 0, nil }
