package inspect

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"hotline-bridge/handlers/reconcile"
)

// Thresholds say when a reading is a warning or critical (config keys inspect_*).
type Thresholds struct {
	CaptureLagWarning, CaptureLagCritical time.Duration
	OutboxAgeWarning, OutboxAgeCritical   time.Duration
	ParkedAgeWarning                      time.Duration
	QuarantineWindow                      time.Duration // a row quarantined within it is a warning
	GroupLagWarning                       int64         // events a district group may lag before a warning
	DiskFreeWarning, DiskFreeCritical     float64       // percent free of the tablespace's file system
	ReconcileAgeWarning                   time.Duration // the last reconciliation may be this old; 0: not checked
}

// Probe asks one dependency whether it answers, and its version.
type Probe struct {
	Name, Address string
	Ask           func(ctx context.Context) (version, detail string, err error)
}

// Store is the bridge's state as inspection reads it.
type Store interface {
	// CaptureLag is every upstream table's watermark and lag, in the catalogue's order (Status left empty).
	CaptureLag(ctx context.Context) ([]TableLag, error)
	// Backlogs are the parked rows, the quarantine (Recent: since quarantinedSince) and the outbox's unpublished
	// events (Status left empty).
	Backlogs(ctx context.Context, quarantinedSince time.Time) (parked, quarantine, outbox Backlog, err error)
	// LastReconciliation is the latest run, nil if none.
	LastReconciliation(ctx context.Context) (*Reconciliation, error)
	// Disk is the database's size and, where it can be known, its tablespace's free space.
	Disk(ctx context.Context) (Disk, error)
}

// Groups reads the unit topics' spans and the district groups' offsets (kafka.Offsets, as reconciliation does).
type Groups interface {
	Partitions(ctx context.Context, topic string) (spans map[int32]reconcile.Span, exists bool, err error)
	Committed(ctx context.Context, group, topic string, partitions []int32) (map[int32]int64, error)
}

// Inspector looks at everything an operator's round (巡检) looks at, once per Run.
type Inspector struct {
	Probes     []Probe
	Store      Store
	Groups     Groups
	GroupIDs   map[string]string // unit → the district's consumer group (config consumer_groups)
	Topic      func(unit string) string
	Thresholds Thresholds
	Build      Build
	Now        func() time.Time
}

// Run inspects. What cannot be read is itself a finding: a dependency that does not answer is critical, a part of
// the state that could not be read a warning (its dependency's finding says why).
func (in *Inspector) Run(ctx context.Context, trigger string) Report {
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	r := Report{StartedAt: now(), Trigger: trigger, Bridge: in.Build, Status: OK, Findings: []Finding{}}
	r.Dependencies = in.dependencies(ctx)
	for _, d := range r.Dependencies {
		if d.Status != OK {
			r.finding(Critical, "dependency", d.Name, "%s %s does not answer: %s", d.Name, d.Address, d.Detail)
		}
	}
	in.capture(ctx, &r)
	in.backlogs(ctx, &r)
	in.reconciliation(ctx, &r)
	in.groups(ctx, &r)
	in.disk(ctx, &r)
	r.TookMS = float64(now().Sub(r.StartedAt).Microseconds()) / 1000
	return r
}

// dependencies asks every probe at once, so one that hangs does not delay the others.
func (in *Inspector) dependencies(ctx context.Context) []Dependency {
	out := make([]Dependency, len(in.Probes))
	var wg sync.WaitGroup
	for i, p := range in.Probes {
		wg.Go(func() {
			version, detail, err := p.Ask(ctx)
			d := Dependency{Name: p.Name, Address: p.Address, Status: OK, Version: version, Detail: detail}
			if err != nil {
				d.Status, d.Detail = Critical, err.Error()
			}
			out[i] = d
		})
	}
	wg.Wait()
	return out
}

func (in *Inspector) capture(ctx context.Context, r *Report) {
	lags, err := in.Store.CaptureLag(ctx)
	if err != nil {
		r.finding(Warning, "capture", "", "capture lag could not be read: %v", err)
		return
	}
	t := in.Thresholds
	for i := range lags {
		l := &lags[i]
		lag := time.Duration(l.LagSeconds * float64(time.Second))
		l.Status = OK
		switch {
		case lag > t.CaptureLagCritical:
			l.Status = Critical
		case lag > t.CaptureLagWarning:
			l.Status = Warning
		}
		if l.Status != OK {
			r.finding(l.Status, "capture", l.Table, "capture of %s is %s behind the settle line (warning over %s, critical over %s)",
				l.Table, round(lag), t.CaptureLagWarning, t.CaptureLagCritical)
		}
	}
	r.Capture = lags
}

func (in *Inspector) backlogs(ctx context.Context, r *Report) {
	t := in.Thresholds
	parked, quarantine, outbox, err := in.Store.Backlogs(ctx, r.StartedAt.Add(-t.QuarantineWindow))
	if err != nil {
		r.finding(Warning, "outbox", "", "parked rows, quarantine and outbox could not be read: %v", err)
		return
	}
	parked.Status, quarantine.Status, outbox.Status = OK, OK, OK
	if age := seconds(parked.OldestAgeSeconds); age > t.ParkedAgeWarning {
		parked.Status = Warning
		r.finding(Warning, "parked", "", "%d rows wait for a parent that has not arrived, the oldest for %s (over %s), e.g. %s",
			parked.Rows, round(age), t.ParkedAgeWarning, strings.Join(parked.Examples, ", "))
	}
	if quarantine.Recent > 0 {
		quarantine.Status = Warning
		r.finding(Warning, "quarantine", "", "%d rows quarantined in the last %s, e.g. %s (bridge.quarantine has the reasons)",
			quarantine.Recent, t.QuarantineWindow, strings.Join(quarantine.Examples, ", "))
	}
	switch age := seconds(outbox.OldestAgeSeconds); {
	case age > t.OutboxAgeCritical:
		outbox.Status = Critical
	case age > t.OutboxAgeWarning:
		outbox.Status = Warning
	}
	if outbox.Status != OK {
		r.finding(outbox.Status, "outbox", "", "%d distribution events wait in the outbox, the oldest for %s (warning over %s, critical over %s)",
			outbox.Rows, round(seconds(outbox.OldestAgeSeconds)), t.OutboxAgeWarning, t.OutboxAgeCritical)
	}
	r.Parked, r.Quarantine, r.Outbox = parked, quarantine, outbox
}

func (in *Inspector) reconciliation(ctx context.Context, r *Report) {
	run, err := in.Store.LastReconciliation(ctx)
	switch {
	case err != nil:
		r.finding(Warning, "reconciliation", "", "the last reconciliation could not be read: %v", err)
		return
	case run == nil:
		r.finding(Warning, "reconciliation", "", "the store was never reconciled: run bridge reconcile --once")
		return
	}
	run.Status = OK
	maxAge := in.Thresholds.ReconcileAgeWarning
	switch {
	case run.Outcome == "unrepaired":
		run.Status = Critical
		r.finding(Critical, "reconciliation", "", "reconciliation run %d could not repair %d of %d rows found missing: %s",
			run.Run, run.Missing-run.Repaired, run.Missing, strings.Join(run.Differences, "; "))
	case run.Outcome == "failed":
		run.Status = Warning
		r.finding(Warning, "reconciliation", "", "reconciliation run %d failed: %s", run.Run, run.Error)
	case maxAge > 0 && r.StartedAt.Sub(run.StartedAt) > maxAge:
		run.Status = Warning
		r.finding(Warning, "reconciliation", "", "the last reconciliation, run %d, started %s ago (over %s)",
			run.Run, round(r.StartedAt.Sub(run.StartedAt)), maxAge)
	}
	r.Reconciliation = run
}

func (in *Inspector) groups(ctx context.Context, r *Report) {
	r.ConsumerGroups = []GroupLag{}
	for _, unit := range slices.Sorted(maps.Keys(in.GroupIDs)) {
		g := in.group(ctx, unit, in.GroupIDs[unit])
		switch g.Status {
		case Critical:
			r.finding(Critical, "consumer_group", g.Group, "group %s of unit %s is %d events behind the log start of %s and can no longer read them (bridge reconcile re-sends what it missed); lag %d",
				g.Group, unit, g.BehindLogStart, g.Topic, g.Lag)
		case Warning:
			r.finding(Warning, "consumer_group", g.Group, "group %s of unit %s: %s", g.Group, unit, g.Detail)
		}
		r.ConsumerGroups = append(r.ConsumerGroups, g)
	}
}

func (in *Inspector) group(ctx context.Context, unit, group string) GroupLag {
	g := GroupLag{Unit: unit, Group: group, Topic: in.Topic(unit), Status: OK}
	spans, exists, err := in.Groups.Partitions(ctx, g.Topic)
	if err == nil && !exists {
		err = fmt.Errorf("topic %s does not exist", g.Topic)
	}
	var committed map[int32]int64
	if err == nil {
		committed, err = in.Groups.Committed(ctx, group, g.Topic, slices.Sorted(maps.Keys(spans)))
	}
	if err != nil {
		g.Status, g.Detail = Warning, "could not be read: "+err.Error()
		return g
	}
	g.Committed = len(committed) > 0
	for p, span := range spans {
		c, ok := committed[p]
		if !ok {
			c = span.Start // a partition never committed on is read from its log start (auto.offset.reset=earliest)
		}
		lag, unreadable := reconcile.GroupPosition(c, span)
		g.Lag, g.BehindLogStart = g.Lag+lag, g.BehindLogStart+unreadable
	}
	switch {
	case g.BehindLogStart > 0:
		g.Status = Critical
	case !g.Committed:
		g.Status, g.Detail = Warning, fmt.Sprintf("has never committed an offset on %s (%d events to read)", g.Topic, g.Lag)
	case g.Lag > in.Thresholds.GroupLagWarning:
		g.Status, g.Detail = Warning, fmt.Sprintf("lags %d events on %s (over %d)", g.Lag, g.Topic, in.Thresholds.GroupLagWarning)
	}
	return g
}

func (in *Inspector) disk(ctx context.Context, r *Report) {
	d, err := in.Store.Disk(ctx)
	if err != nil {
		r.finding(Warning, "disk", "", "the store's disk use could not be read: %v", err)
		return
	}
	d.Status = OK
	if d.FreePercent != nil {
		th := in.Thresholds
		switch free := *d.FreePercent; {
		case free < th.DiskFreeCritical:
			d.Status = Critical
		case free < th.DiskFreeWarning:
			d.Status = Warning
		}
		if d.Status != OK {
			r.finding(d.Status, "disk", d.Tablespace, "tablespace %s at %s has %.1f%% free (warning under %g%%, critical under %g%%)",
				d.Tablespace, d.Path, *d.FreePercent, th.DiskFreeWarning, th.DiskFreeCritical)
		}
	}
	r.Disk = d
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func round(d time.Duration) time.Duration { return d.Round(time.Second) }
