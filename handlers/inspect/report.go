package inspect

import (
	"fmt"
	"time"
)

// Status is how an inspection, or one of its findings, stands. Its order is its severity.
type Status string

// Statuses, mildest first.
const (
	OK       Status = "ok"
	Warning  Status = "warning"
	Critical Status = "critical"
)

func (s Status) rank() int {
	switch s {
	case Warning:
		return 1
	case Critical:
		return 2
	}
	return 0
}

// Worse is the more severe of s and o.
func (s Status) Worse(o Status) Status {
	if o.rank() > s.rank() {
		return o
	}
	return s
}

// ExitCode is what bridge inspect exits with: 0 ok, 1 warning, 2 critical.
func (s Status) ExitCode() int { return s.rank() }

// Build is the bridge's own version, as Go's build information has it.
type Build struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commit_time,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
	GoVersion  string `json:"go_version,omitempty"`
}

func (b Build) String() string {
	s := b.Version
	if b.Commit != "" {
		s += " " + b.Commit[:min(len(b.Commit), 12)]
		if b.Modified {
			s += "+modified"
		}
	}
	if b.CommitTime != "" {
		s += " (" + b.CommitTime + ")"
	}
	if b.GoVersion != "" {
		s += " " + b.GoVersion
	}
	return s
}

// Report is one inspection: what every part of the bridge looked like, and the findings over the thresholds. It
// holds counts, ages, table names, row ids, unit codes, addresses and versions, never row content, so it can be
// stored (bridge.inspection) and shown on a status page as it is.
type Report struct {
	StartedAt      time.Time       `json:"started_at"`
	TookMS         float64         `json:"took_ms"`
	Trigger        string          `json:"trigger"` // command (bridge inspect) or schedule (inside bridge run)
	Bridge         Build           `json:"bridge"`
	Status         Status          `json:"status"`
	Findings       []Finding       `json:"findings"`
	Dependencies   []Dependency    `json:"dependencies"`
	Capture        []TableLag      `json:"capture"`
	Parked         Backlog         `json:"parked"`
	Quarantine     Backlog         `json:"quarantine"`
	Outbox         Backlog         `json:"outbox"`
	Reconciliation *Reconciliation `json:"reconciliation"` // nil: never reconciled, or unreadable
	ConsumerGroups []GroupLag      `json:"consumer_groups"`
	Disk           Disk            `json:"disk"`
}

// Triggers of an inspection.
const (
	TriggerCommand  = "command"
	TriggerSchedule = "schedule"
)

// Finding is one thing over a threshold, or that could not be looked at.
type Finding struct {
	Status  Status `json:"status"`
	Check   string `json:"check"`   // dependency, capture, parked, quarantine, outbox, reconciliation, consumer_group, disk
	Subject string `json:"subject"` // the dependency, table, unit or group concerned; empty for the check as a whole
	Message string `json:"message"`
}

// Dependency is the upstream, the store or the broker as it answered.
type Dependency struct {
	Name    string `json:"name"`    // upstream, store, broker
	Address string `json:"address"` // host:port (never a password)
	Status  Status `json:"status"`
	Version string `json:"version,omitempty"`
	Detail  string `json:"detail,omitempty"` // what else it said, or why it did not answer
}

// TableLag is one upstream table's capture position.
type TableLag struct {
	Table     string     `json:"table"`
	Watermark *time.Time `json:"watermark"` // update_time of the durable watermark; nil before the first page
	SavedAt   *time.Time `json:"saved_at"`
	// LagSeconds is how far the watermark is behind the settle line, as bridge_capture_lag_seconds: 0 when caught up.
	LagSeconds float64 `json:"lag_seconds"`
	Status     Status  `json:"status"`
}

// Backlog is a queue of the store: rows and the age of the oldest.
type Backlog struct {
	Rows             int64   `json:"rows"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"` // 0 when empty
	// Recent is, for quarantine, how many came within inspect_quarantine_window; Oldest* are over every row kept.
	Recent   int64    `json:"recent,omitempty"`
	Examples []string `json:"examples,omitempty"` // a few table:id of the rows concerned, newest first
	Status   Status   `json:"status"`
}

// Reconciliation is the last reconciliation run and what it found.
type Reconciliation struct {
	Run        int64      `json:"run"`
	Trigger    string     `json:"trigger"`
	Checks     []string   `json:"checks"`
	DryRun     bool       `json:"dry_run"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Outcome    string     `json:"outcome"` // consistent, repaired, unrepaired, failed; empty while it runs
	Missing    int64      `json:"missing"`
	Repaired   int64      `json:"repaired"`
	Error      string     `json:"error,omitempty"`
	// Differences are its findings that were not consistent (something missing, or not found), at most ten.
	Differences []string `json:"differences,omitempty"`
	Status      Status   `json:"status"`
}

// GroupLag is a configured district consumer group's position on its unit's topic.
type GroupLag struct {
	Unit  string `json:"unit"`
	Group string `json:"group"`
	Topic string `json:"topic"`
	// Lag is the events it has yet to read that it still can: end − max(committed, log start), over its partitions.
	Lag int64 `json:"lag"`
	// BehindLogStart is how many events below the log start it can no longer read, over its partitions.
	BehindLogStart int64  `json:"behind_log_start"`
	Committed      bool   `json:"committed"` // false: it never committed on the topic
	Status         Status `json:"status"`
	Detail         string `json:"detail,omitempty"`
}

// Disk is the store database's size and the free space where its tablespace lives.
type Disk struct {
	DatabaseBytes int64  `json:"database_bytes"`
	Tablespace    string `json:"tablespace"`
	// Path, FreeBytes and TotalBytes are known only when the data directory is on this machine and readable, and
	// proven to be the store's cluster; otherwise FreeUnknown says why.
	Path        string   `json:"path,omitempty"`
	FreeBytes   *int64   `json:"free_bytes"`
	TotalBytes  *int64   `json:"total_bytes"`
	FreePercent *float64 `json:"free_percent"`
	FreeUnknown string   `json:"free_unknown,omitempty"`
	Status      Status   `json:"status"`
}

// finding adds a finding and raises the report's status.
func (r *Report) finding(status Status, check, subject, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Status: status, Check: check, Subject: subject, Message: fmt.Sprintf(format, args...)})
	r.Status = r.Status.Worse(status)
}
