package report

import (
	"errors"
	"fmt"
	"time"
)

// Period is the days a report covers, first to last inclusive, in Shanghai.
type Period struct {
	First Day `json:"first"`
	Last  Day `json:"last"`
}

// From is the instant the period begins; To the instant after it ends.
func (p Period) From() time.Time { return p.First.Start() }
func (p Period) To() time.Time   { return p.Last.AddDays(1).Start() }

// Contains reports whether d is one of the period's days.
func (p Period) Contains(d Day) bool { return !d.Before(p.First) && !d.After(p.Last) }

func (p Period) String() string {
	if p.First == p.Last {
		return p.First.String()
	}
	return p.First.String() + " .. " + p.Last.String()
}

// MaxDays bounds a report's period: the time-limit rules look back over it and the validation over its rows.
const MaxDays = 366

// ParsePeriod reads --day D, or --from D --to D (either alone is one day); without any, yesterday in Shanghai.
// Every problem is reported at once.
func ParsePeriod(day, from, to string, now time.Time) (Period, error) {
	var errs []error
	parse := func(flag, s string) Day {
		d, err := ParseDay(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s %q: want a date YYYY-MM-DD", flag, s))
		}
		return d
	}
	var p Period
	switch {
	case day != "" && (from != "" || to != ""):
		return p, errors.New("give --day, or --from and --to, not both")
	case day != "":
		p.First = parse("day", day)
		p.Last = p.First
	case from != "" || to != "":
		if from == "" {
			from = to
		}
		if to == "" {
			to = from
		}
		p.First, p.Last = parse("from", from), parse("to", to)
	default:
		p.First = DayOf(now).AddDays(-1)
		p.Last = p.First
	}
	if len(errs) == 0 && p.Last.Before(p.First) {
		errs = append(errs, fmt.Errorf("--to %s is before --from %s", p.Last, p.First))
	}
	if len(errs) == 0 && p.Last.t.Sub(p.First.t) >= MaxDays*24*time.Hour {
		errs = append(errs, fmt.Errorf("the period %s is over %d days: report a year at most", p, MaxDays))
	}
	return p, errors.Join(errs...)
}
