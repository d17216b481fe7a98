package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// tally counts one unit topic's rows by what their latest event tells, and gathers the rows to re-send.
type tally struct {
	unit, topic string
	layout      Layout
	group       string          // the district's consumer group, if one is configured
	committed   map[int32]int64 // its committed offsets

	rows    Finding            // the unit's summary; its reasons below
	reasons map[string]int64   // why the rows counted missing are missing
	parts   map[int32]*Finding // rows per partition where their latest event was recorded, with losses
	// lost are the rows to re-send, in outbox order: those whose current state is no longer readable, and those
	// whose removal the group had not read yet when it was lost.
	lost []lostRow
	// removalsLost counts removals no longer readable that nothing needs: a reader from the log start never sees
	// the row before them, and the group, if any, had already read them.
	removalsLost int64
	groupParts   map[int32]*Finding

	repaired     int
	repairDetail string
	created      bool
}

type lostRow struct {
	seq       int64
	partition int32
	forGroup  bool // the group has not read it yet
	removal   bool
}

// add counts one row by its latest event; Latest hands them over in outbox order.
func (t *tally) add(e Event) error {
	if !e.Removed() {
		t.rows.Expected++
	}
	if !e.Published {
		if !e.Removed() {
			t.rows.Pending++
		}
		return nil
	}
	part := t.part(e.Partition)
	loss := t.layout.Loss(e)
	if !e.Removed() {
		part.Expected++
	}
	if loss == "" {
		if !e.Removed() {
			t.rows.Found++
			part.Found++
		}
		return nil
	}
	unread := t.groupUnread(e)
	if e.Removed() && !unread {
		t.removalsLost++
		return nil
	}
	if !e.Removed() {
		t.rows.Missing++
		part.Missing++
		t.countReason(loss)
	}
	t.lost = append(t.lost, lostRow{seq: e.Seq, partition: e.Partition, forGroup: unread, removal: e.Removed()})
	return nil
}

// groupUnread says the unit's consumer group had not read e yet when it was lost: it still holds what e changed.
func (t *tally) groupUnread(e Event) bool {
	c, ok := t.committed[e.Partition]
	return ok && c <= e.Offset
}

func (t *tally) part(p int32) *Finding {
	f, ok := t.parts[p]
	if !ok {
		f = &Finding{}
		t.parts[p] = f
	}
	return f
}

func (t *tally) countReason(loss string) {
	if t.reasons == nil {
		t.reasons = map[string]int64{}
	}
	t.reasons[loss]++
}

// findings renders the unit's summary, then a finding per partition that lost rows, then the group's positions.
func (t *tally) findings() []Finding {
	t.sortLost()
	healed := t.healed()
	sum := t.rows
	sum.Check, sum.Subject, sum.Unit, sum.Topic = CheckDelivery, SubjectUnit, t.unit, t.topic
	sum.Repaired = healed.rows
	sum.Detail = t.summaryDetail()
	out := []Finding{sum}
	for _, p := range slices.Sorted(maps.Keys(t.parts)) {
		if f := t.parts[p]; f.Missing > 0 {
			out = append(out, t.partitionFinding(p, *f, healed.byPartition[p]))
		}
	}
	return append(out, t.groupFindings(healed)...)
}

func (t *tally) sortLost() {
	slices.SortFunc(t.lost, func(a, b lostRow) int { return int(a.seq - b.seq) })
}

// healedCounts splits the re-sent prefix of lost by what it counts in.
type healedCounts struct {
	rows        int64
	byPartition map[int32]int64 // rows (not removals) per partition
	forGroup    map[int32]int64 // rows and removals the group had not read, per partition
}

func (t *tally) healed() healedCounts {
	h := healedCounts{byPartition: map[int32]int64{}, forGroup: map[int32]int64{}}
	for _, l := range t.lost[:t.repaired] {
		if !l.removal {
			h.rows++
			h.byPartition[l.partition]++
		}
		if l.forGroup {
			h.forGroup[l.partition]++
		}
	}
	return h
}

func (t *tally) summaryDetail() string {
	var parts []string
	switch {
	case !t.layout.Exists && t.created:
		parts = append(parts, "topic was missing; created it")
	case !t.layout.Exists:
		parts = append(parts, "topic missing")
	}
	for _, r := range slices.Sorted(maps.Keys(t.reasons)) {
		parts = append(parts, fmt.Sprintf("%d rows' latest event %s", t.reasons[r], r))
	}
	if t.removalsLost > 0 {
		parts = append(parts, fmt.Sprintf("%d removals no longer readable, needed by no reader (none can read the row before them)", t.removalsLost))
	}
	if t.repairDetail != "" {
		parts = append(parts, t.repairDetail)
	}
	return strings.Join(parts, "; ")
}

func (t *tally) partitionFinding(p int32, f Finding, healed int64) Finding {
	f.Check, f.Subject, f.Unit, f.Topic, f.Partition = CheckDelivery, SubjectPartition, t.unit, t.topic, &p
	f.Repaired = healed
	if span, ok := t.layout.Partitions[p]; ok {
		f.Detail = fmt.Sprintf("log start %d, end %d", span.Start, span.End)
	} else {
		f.Detail = "partition missing"
	}
	if n := len(t.layout.Rewinds[p]); n > 0 {
		f.Detail += fmt.Sprintf("; recorded offsets rewound %d times (topic recreated or its tail lost)", n)
	}
	return f
}

// groupFindings are the group's position on every partition it committed on: Expected is what it has yet to
// read, Found what of that it still can (its lag), Missing the rows whose latest event it can no longer read.
func (t *tally) groupFindings(healed healedCounts) []Finding {
	if t.group == "" {
		return nil
	}
	unread := map[int32]int64{}
	for _, l := range t.lost {
		if l.forGroup {
			unread[l.partition]++
		}
	}
	var out []Finding
	for _, p := range slices.Sorted(maps.Keys(t.committed)) {
		out = append(out, t.groupFinding(p, unread[p], healed.forGroup[p]))
	}
	if len(out) == 0 {
		out = append(out, Finding{Check: CheckDelivery, Subject: SubjectGroup, Unit: t.unit, Topic: t.topic, Group: t.group,
			Detail: "no committed offsets: the group has not consumed yet"})
	}
	return out
}

func (t *tally) groupFinding(p int32, unread, healed int64) Finding {
	c, span := t.committed[p], t.layout.Partitions[p]
	lag, unreadable := GroupPosition(c, span)
	f := Finding{Check: CheckDelivery, Subject: SubjectGroup, Unit: t.unit, Topic: t.topic, Group: t.group, Partition: &p,
		Expected: max(span.End-c, 0), Found: lag, Missing: unread, Repaired: healed}
	f.Detail = fmt.Sprintf("committed %d, log start %d, end %d, lag %d", c, span.Start, span.End, f.Found)
	switch {
	case unreadable > 0:
		f.Detail += fmt.Sprintf("; %d events below the log start the group can no longer read", unreadable)
	case c > span.End:
		f.Detail += "; committed beyond the end (the topic was recreated or lost its tail): the group resets by its own auto.offset.reset"
	}
	if unread > 0 {
		f.Detail += fmt.Sprintf("; %d rows' latest event among them", unread)
	}
	return f
}

// GroupPosition is where a consumer group that committed offset committed stands on a partition spanning span:
// lag is what it has yet to read and still can (end − max(committed, log start)), unreadable what lies below the
// log start that it can no longer read (log start − committed). Shared with bridge inspect.
func GroupPosition(committed int64, span Span) (lag, unreadable int64) {
	return max(span.End-max(committed, span.Start), 0), max(span.Start-committed, 0)
}
