package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Window is a span of update_time, From included, To not.
type Window struct{ From, To time.Time }

// Key names a row version without its content: its digest is the event id capture gives that version, so two
// contents under one update_time differ in it.
type Key struct {
	UpdateTime time.Time
	ID         string
	Digest     string
}

// Member is an upstream row version of a kind that follows its work order, with the work order it names.
type Member struct {
	Key
	WorkOrder string
}

func (k Key) same(o Key) bool { return k.UpdateTime.Equal(o.UpdateTime) && k.Digest == o.Digest }

// Entry is a ledger entry: the newest version the bridge saw of a row, and the unit the store holds it in ("" if
// none).
type Entry struct {
	Key
	Unit string
}

// Summary is a window's rows in a form both sides compute on their own server: a count and the sum of the
// digests' first 60 bits, modulo SummaryModulus. The sum does not depend on the order rows are read in, so
// chunks of a window add up.
type Summary struct {
	Rows int64
	Sum  uint64
}

// SummaryModulus bounds Summary.Sum (2^62): two sums below it add without overflow.
const SummaryModulus = 1 << 62

// Add is the summary of both sets of rows.
func (s Summary) Add(o Summary) Summary {
	return Summary{Rows: s.Rows + o.Rows, Sum: (s.Sum + o.Sum) % SummaryModulus}
}

// SourceConfig is how far back and how fast the source check looks.
type SourceConfig struct {
	Tables []string      // the upstream tables, in catalogue order
	Window time.Duration // the span of update_time compared at once
	Depth  time.Duration // how far back from the capture watermark windows go
	Batch  int           // rows per upstream read, and per repair
	Now    func() time.Time
}

// Source compares, per table and window of update_time, what the national upstream holds with what the bridge
// knows (the ledger and the dedicated store), and re-captures what differs through the sorter: rows changed
// upstream without a new update_time, rows deleted outright there, rows the bridge or the store misses.
type Source struct {
	cfg      SourceConfig
	upstream Upstream
	ledger   Ledger
	healer   Healer
	pace     Pace
}

var _ Check = (*Source)(nil)

// NewSource checks cfg.Tables, reading the upstream no faster than pace allows.
func NewSource(cfg SourceConfig, upstream Upstream, ledger Ledger, healer Healer, pace Pace) *Source {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Source{cfg: cfg, upstream: upstream, ledger: ledger, healer: healer, pace: pace}
}

// Name is the check's wire name.
func (s *Source) Name() string { return CheckSource }

// Run checks every table; a table that cannot be checked does not keep the others from being checked.
func (s *Source) Run(ctx context.Context, opts Options, report func(Finding)) error {
	var errs []error
	for _, table := range s.cfg.Tables {
		err := s.table(ctx, opts, table, report)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("table %s: %w", table, err))
		}
	}
	return errors.Join(errs...)
}

// Windows walks back from to over depth, newest first, in spans of window; the oldest may be shorter.
func Windows(to time.Time, window, depth time.Duration) []Window {
	var out []Window
	oldest := to.Add(-depth)
	for end := to; end.After(oldest); end = end.Add(-window) {
		start := end.Add(-window)
		if start.Before(oldest) {
			start = oldest
		}
		out = append(out, Window{From: start, To: end})
	}
	return out
}

// table checks the table's windows up to its capture watermark: rows newer than it are capture's to read.
func (s *Source) table(ctx context.Context, opts Options, table string, report func(Finding)) error {
	to, ok, err := s.ledger.Watermark(ctx, table)
	if err != nil {
		return err
	}
	sum := Finding{Check: CheckSource, Subject: SubjectTable, Table: table}
	if !ok {
		sum.Detail = "not captured yet"
		report(sum)
		return nil
	}
	to = minTime(to, s.cfg.Now())
	totals := &tableTotals{}
	var windows []Finding
	for _, w := range Windows(to, s.cfg.Window, s.cfg.Depth) {
		c := &windowCheck{src: s, opts: opts, table: table, w: w, units: map[string]*unitCounts{}}
		if err := c.run(ctx); err != nil {
			return fmt.Errorf("window %s–%s: %w", w.From.UTC().Format(time.RFC3339), w.To.UTC().Format(time.RFC3339), err)
		}
		totals.add(c)
		windows = append(windows, c.findings()...)
	}
	report(totals.finding(table, to))
	for _, f := range windows {
		report(f)
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// tableTotals sums a table's windows for its summary finding.
type tableTotals struct {
	windows, byKey, kept, byFamily, differing int
	expected, found, missing, fixed           int64
	classes                                   map[string]int64
	failures                                  []string
}

func (t *tableTotals) add(c *windowCheck) {
	t.windows++
	if c.keyed {
		t.byKey++
	}
	if c.kept {
		t.kept++
	}
	if c.family {
		t.byFamily++
	}
	if c.missing > 0 || c.classes[classQuarantined] > 0 {
		t.differing++
	}
	t.expected += c.expected
	t.found += c.expected - c.upstreamDiffering
	t.missing += c.missing
	t.fixed += c.repaired
	for k, n := range c.classes {
		if t.classes == nil {
			t.classes = map[string]int64{}
		}
		t.classes[k] += n
	}
	if c.failure != "" {
		t.failures = append(t.failures, c.failure)
	}
}

func (t *tableTotals) finding(table string, to time.Time) Finding {
	f := Finding{Check: CheckSource, Subject: SubjectTable, Table: table, Expected: t.expected, Found: t.found,
		Missing: t.missing, Repaired: t.fixed}
	parts := []string{fmt.Sprintf("%d windows up to the capture watermark %s, %d compared row by row, %d by the rows the store holds (the ledger was pruned there)",
		t.windows, to.UTC().Format(time.RFC3339), t.byKey, t.kept)}
	if t.byFamily > 0 {
		parts[0] = fmt.Sprintf("%d windows up to the capture watermark %s, compared by Wuhan's families (the ledger keeps no other rows of this kind)",
			t.windows, to.UTC().Format(time.RFC3339))
	}
	if t.differing > 0 {
		parts = append(parts, fmt.Sprintf("%d differed", t.differing))
	}
	parts = append(parts, classDetail(t.classes)...)
	parts = append(parts, t.failures...)
	f.Detail = strings.Join(parts, "; ")
	return f
}

// Classes of difference, as findings name them.
const (
	classChanged      = "changed upstream without a new update_time"
	classDeleted      = "deleted upstream"
	classAbsent       = "not in the ledger at the upstream's version (missed, or not sorted yet)"
	classBehind       = "behind the upstream version"
	classStoreMissing = "missing from the store, or stored at another version or unit"
	classStoreExtra   = "in the store, where the ledger places it in no unit"
	classQuarantined  = "set aside as bad (quarantined), not re-sorted"
	// The sorter's newer-wins gate refuses a version older than the one it holds, so such a row cannot be
	// re-sorted: the platform moved its update_time backwards (a row once stamped in the future, changed again
	// with a correct clock).
	classAhead = "held at a newer update_time than the upstream's now (update_time moved backwards upstream), not re-sorted"
)

func classDetail(classes map[string]int64) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(classes)) {
		if classes[k] > 0 {
			out = append(out, fmt.Sprintf("%d %s", classes[k], k))
		}
	}
	return out
}
