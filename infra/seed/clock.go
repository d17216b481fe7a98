package seed

import (
	"math/rand/v2"
	"time"
)

// clock decides update_time values the way a real upstream has them: mostly the time of the row's last change,
// but a good share stamped by batch jobs with one identical timestamp (a nightly job at 02:00 and a few large
// re-imports), a few legacy rows at the epoch and a few with a clock far in the future.
type clock struct {
	now, start time.Time
	imports    []time.Time // large re-imports: thousands of rows share each of these
	fixed      bool        // Change: everything is stamped now
}

var (
	epoch  = time.Unix(0, 0).UTC()
	future = time.Date(2099, 12, 31, 23, 59, 59, 0, cst)
	cst    = time.FixedZone("CST", 8*3600)
)

const importsPerWindow = 4

func newClock(now time.Time, days int) clock {
	c := clock{now: now, start: now.Add(-time.Duration(days) * 24 * time.Hour)}
	window := now.Sub(c.start)
	for i := range importsPerWindow {
		// Mid-interval, so rows changed after the last import keep their own times.
		at := c.start.Add(window * time.Duration(2*i+1) / (2 * importsPerWindow))
		c.imports = append(c.imports, at.Truncate(time.Second))
	}
	return c
}

func fixedClock(now time.Time) clock { return clock{now: now, start: now, fixed: true} }

// stamp returns the update_time of a row last changed at base.
func (c clock) stamp(r *rand.Rand, base time.Time) time.Time {
	if c.fixed {
		return c.now
	}
	u := r.Float64()
	switch {
	case u < 0.001:
		return epoch
	case u < 0.002:
		return future
	case u < 0.30:
		if t, ok := c.nextImport(base); ok {
			return t
		}
	case u < 0.42:
		if t, ok := c.nextNightly(base); ok {
			return t
		}
	}
	return base.Truncate(time.Millisecond)
}

func (c clock) nextImport(base time.Time) (time.Time, bool) {
	for _, t := range c.imports {
		if !t.Before(base) {
			return t, true
		}
	}
	return time.Time{}, false
}

func (c clock) nextNightly(base time.Time) (time.Time, bool) {
	l := base.In(cst)
	t := time.Date(l.Year(), l.Month(), l.Day(), 2, 0, 0, 0, cst)
	if t.Before(base) {
		t = t.AddDate(0, 0, 1)
	}
	return t.UTC(), !t.After(c.now)
}

// after returns a time between from+lo and from+hi, and whether it is not after now.
func (c clock) after(r *rand.Rand, from time.Time, lo, hi time.Duration) (time.Time, bool) {
	if c.fixed {
		return c.now, false
	}
	t := from.Add(lo + time.Duration(r.Int64N(int64(hi-lo)+1))).Truncate(time.Second)
	return t, !t.After(c.now)
}

// within returns a random time in the window.
func (c clock) within(r *rand.Rand) time.Time {
	if c.fixed {
		return c.now
	}
	return c.start.Add(time.Duration(r.Int64N(int64(c.now.Sub(c.start)) + 1))).Truncate(time.Second)
}
