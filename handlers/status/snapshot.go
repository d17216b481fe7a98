package status

import (
	"context"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/inspect"
)

// Snapshot is what the page shows at one moment; /status.json serves it as it is.
type Snapshot struct {
	At             time.Time               `json:"at"`
	Bridge         string                  `json:"bridge"` // version
	Dependencies   []Dependency            `json:"dependencies"`
	Flow           []UnitFlow              `json:"flow"`
	Capture        []inspect.TableLag      `json:"capture"`
	Parked         inspect.Backlog         `json:"parked"`
	Quarantine     inspect.Backlog         `json:"quarantine"`
	Outbox         inspect.Backlog         `json:"outbox"`
	Alerts         []inspect.Finding       `json:"alerts"` // what is wrong now: the dependencies that do not answer
	Inspection     *Inspection             `json:"inspection"`
	Reconciliation *inspect.Reconciliation `json:"reconciliation"`
	// Unavailable names the parts that could not be read this time, and why (the rest is still shown).
	Unavailable []string `json:"unavailable"`
}

// Dependency is one dependency's readiness, as /readyz reports it.
type Dependency struct {
	Name   string `json:"name"`
	Ready  bool   `json:"ready"`
	Detail string `json:"detail,omitempty"`
}

// UnitFlow is what went to one unit's topic: events published in the last hour and day, and the last send.
type UnitFlow struct {
	Unit     string     `json:"unit"`
	Name     string     `json:"name"`
	Topic    string     `json:"topic"`
	LastHour int64      `json:"last_hour"`
	LastDay  int64      `json:"last_day"`
	LastSent *time.Time `json:"last_sent"`
}

// Inspection is when the last inspection ran, how it ended, and what it found over the thresholds then.
type Inspection struct {
	StartedAt time.Time         `json:"started_at"`
	Trigger   string            `json:"trigger"`
	Status    inspect.Status    `json:"status"`
	Findings  []inspect.Finding `json:"findings"`
}

// Store is the bridge's state as the page reads it.
type Store interface {
	inspect.Store
	// Flow is, per unit of units that was ever sent anything, its events since hour and since day, and its
	// last send.
	Flow(ctx context.Context, units []string, hour, day time.Time) (map[string]UnitFlow, error)
	// LastInspection is the newest inspection report kept, nil if none.
	LastInspection(ctx context.Context) (*inspect.Report, error)
}

// Readiness probes the dependencies (metrics.Health.Check, adapted).
type Readiness func(ctx context.Context) []Dependency

// Unit is a unit of the catalogue as the page lists it.
type Unit struct{ Code, Name string }

// Source builds snapshots.
type Source struct {
	Store   Store
	Ready   Readiness
	Units   func() []Unit // the catalogue now: it can be reloaded while the bridge runs
	Topic   func(unit string) string
	Version string
	Now     func() time.Time
}

// Snapshot reads everything the page shows. A part that cannot be read is left empty and named in Unavailable,
// so that an outage of the store still shows which dependency is down.
func (s *Source) Snapshot(ctx context.Context) Snapshot {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	at := now()
	snap := Snapshot{At: at, Bridge: s.Version, Alerts: []inspect.Finding{}, Unavailable: []string{}}
	for _, d := range s.Ready(ctx) {
		snap.Dependencies = append(snap.Dependencies, d)
		if !d.Ready {
			snap.Alerts = append(snap.Alerts, inspect.Finding{Status: inspect.Critical, Check: "dependency", Subject: d.Name, Message: d.Detail})
		}
	}
	note := func(part string, err error) {
		if err != nil {
			snap.Unavailable = append(snap.Unavailable, part+": "+err.Error())
		}
	}
	units := append(s.Units(), Unit{Code: events.BroadcastUnit, Name: "broadcast (every unit)"})
	codes := make([]string, len(units))
	for i, u := range units {
		codes[i] = u.Code
	}
	flow, err := s.Store.Flow(ctx, codes, at.Add(-time.Hour), at.Add(-24*time.Hour))
	note("flow", err)
	snap.Flow = s.flow(units, flow)
	snap.Capture, err = s.Store.CaptureLag(ctx)
	note("capture", err)
	snap.Parked, snap.Quarantine, snap.Outbox, err = s.Store.Backlogs(ctx, at.Add(-time.Hour))
	note("backlogs", err)
	snap.Reconciliation, err = s.Store.LastReconciliation(ctx)
	note("reconciliation", err)
	last, err := s.Store.LastInspection(ctx)
	note("inspection", err)
	if last != nil {
		snap.Inspection = &Inspection{StartedAt: last.StartedAt, Trigger: last.Trigger, Status: last.Status, Findings: last.Findings}
	}
	return snap
}

// flow lists every unit of the catalogue, and the broadcast topic, with what went to it (zeros when nothing did).
func (s *Source) flow(units []Unit, sent map[string]UnitFlow) []UnitFlow {
	out := make([]UnitFlow, 0, len(units))
	for _, u := range units {
		f := sent[u.Code]
		f.Unit, f.Name, f.Topic = u.Code, u.Name, s.Topic(u.Code)
		out = append(out, f)
	}
	return out
}
