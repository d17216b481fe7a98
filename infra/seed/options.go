package seed

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"hotline-bridge/events"
)

// Options configure Generate. The zero value means the defaults.
type Options struct {
	Registrations int       // national registrations to create; 20000 when 0
	WuhanShare    float64   // share of registrations handled in Wuhan; 0.04 when 0
	Seed          int64     // the same Seed and Now give identical data; 1 when 0
	Now           time.Time // the "current" time the data is generated around; time.Now() when zero
	Days          int       // registrations are spread over this many days before Now; 30 when 0
	ChunkSize     int       // registrations per COPY chunk (memory stays flat); 5000 when 0
	Progress      *Progress // when set, counts what commits as it commits, for a progress display
}

func (o *Options) setDefaults() {
	if o.Registrations == 0 {
		o.Registrations = 20000
	}
	if o.WuhanShare == 0 {
		o.WuhanShare = 0.04
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	// PostgreSQL keeps microseconds: truncating here keeps the data reproducible from Now.
	o.Now = o.Now.UTC().Truncate(time.Microsecond)
	if o.Days == 0 {
		o.Days = 30
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = 5000
	}
}

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	if o.Registrations < 0 {
		errs = append(errs, fmt.Errorf("registrations %d is negative", o.Registrations))
	}
	if o.WuhanShare < 0 || o.WuhanShare > 1 {
		errs = append(errs, fmt.Errorf("wuhan share %v is outside [0, 1]", o.WuhanShare))
	}
	if o.Days < 0 {
		errs = append(errs, fmt.Errorf("days %d is negative", o.Days))
	}
	if o.ChunkSize < 0 {
		errs = append(errs, fmt.Errorf("chunk size %d is negative", o.ChunkSize))
	}
	return errors.Join(errs...)
}

// ChangeOptions configure Change. The zero value means the defaults.
type ChangeOptions struct {
	Seed      int64            // 1 when 0
	Rounds    int              // rounds to run; 0 runs until ctx is cancelled
	BatchSize int              // scale of a round: status updates per round; 100 when 0
	Interval  time.Duration    // pause between rounds; 1s when 0, none when negative
	Now       func() time.Time // the clock stamped into update_time; time.Now when nil
	Progress  *Progress        // when set, counts the rounds as they commit, for a progress display
}

func (o *ChangeOptions) setDefaults() {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.BatchSize == 0 {
		o.BatchSize = 100
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Validate reports every problem with the options at once.
func (o ChangeOptions) Validate() error {
	var errs []error
	if o.Rounds < 0 {
		errs = append(errs, fmt.Errorf("rounds %d is negative", o.Rounds))
	}
	if o.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch size %d is negative", o.BatchSize))
	}
	return errors.Join(errs...)
}

// Stats counts what Generate or Change wrote: rows inserted or updated per upstream table and, for Change, how
// many changes of each kind (see the op* constants) it made.
type Stats struct {
	Rows map[string]int
	Ops  map[string]int
}

func newStats() Stats { return Stats{Rows: map[string]int{}, Ops: map[string]int{}} }

// Total is the number of rows written over all tables.
func (s Stats) Total() int {
	n := 0
	for _, v := range s.Rows {
		n += v
	}
	return n
}

// String lists the tables in catalogue order, then the changes by name.
func (s Stats) String() string {
	var b strings.Builder
	for _, k := range events.Catalogue {
		fmt.Fprintf(&b, "%s=%d ", k.Table, s.Rows[k.Table])
	}
	fmt.Fprintf(&b, "total=%d", s.Total())
	ops := make([]string, 0, len(s.Ops))
	for op := range s.Ops {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for i, op := range ops {
		if i == 0 {
			b.WriteString(" |")
		}
		fmt.Fprintf(&b, " %s=%d", op, s.Ops[op])
	}
	return b.String()
}

func (s Stats) add(o Stats) {
	for k, v := range o.Rows {
		s.Rows[k] += v
	}
	for k, v := range o.Ops {
		s.Ops[k] += v
	}
}
