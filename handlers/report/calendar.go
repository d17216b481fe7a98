package report

import (
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// Shanghai is the zone every report day is cut in: the bureau's working day.
var Shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		// China has kept UTC+8 without daylight saving since 1991; a host without tzdata still cuts days right.
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}

// Day is a calendar date in Shanghai, kept as midnight UTC so that adding days never meets a zone change.
type Day struct{ t time.Time }

// DayOf is the Shanghai date of t.
func DayOf(t time.Time) Day {
	l := t.In(Shanghai)
	return Date(l.Year(), l.Month(), l.Day())
}

// Date is the given date.
func Date(y int, m time.Month, d int) Day { return Day{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)} }

// ParseDay reads YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	return Day{t}, err
}

func (d Day) String() string               { return d.t.Format(time.DateOnly) }
func (d Day) AddDays(n int) Day            { return Day{d.t.AddDate(0, 0, n)} }
func (d Day) Before(o Day) bool            { return d.t.Before(o.t) }
func (d Day) After(o Day) bool             { return d.t.After(o.t) }
func (d Day) IsZero() bool                 { return d.t.IsZero() }
func (d Day) Weekday() time.Weekday        { return d.t.Weekday() }
func (d Day) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD.
func (d *Day) UnmarshalText(b []byte) error {
	v, err := ParseDay(string(b))
	*d = v
	return err
}

// Start is the instant the day begins in Shanghai.
func (d Day) Start() time.Time {
	return time.Date(d.t.Year(), d.t.Month(), d.t.Day(), 0, 0, 0, 0, Shanghai)
}

// Calendar tells working days on China's official holiday calendar (国务院办公厅 notices as lunar-go's
// HolidayUtil carries them): a holiday is off even on a weekday, a make-up workday (调休) is on even on a weekend,
// any other Saturday or Sunday is off.
type Calendar struct{}

// Workday reports whether d is a working day.
func (Calendar) Workday(d Day) bool {
	if h := HolidayUtil.GetHolidayByYmd(d.t.Year(), int(d.t.Month()), d.t.Day()); h != nil {
		return h.IsWork()
	}
	return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
}

// Knows reports whether the calendar has the official holidays of year: the State Council announces them late
// in the year before, and a year the library does not know yet counts weekends only.
func (Calendar) Knows(year int) bool { return HolidayUtil.GetHolidaysByYear(year).Len() > 0 }

// AddWorkdays is the n-th working day after d: "within n working days of d" ends on it, d itself not counted.
func (c Calendar) AddWorkdays(d Day, n int) Day {
	for n > 0 {
		d = d.AddDays(1)
		if c.Workday(d) {
			n--
		}
	}
	return d
}

// Workdays counts the working days after from up to and including to (0 when to is not after from).
func (c Calendar) Workdays(from, to Day) int {
	n := 0
	for d := from.AddDays(1); !d.After(to); d = d.AddDays(1) {
		if c.Workday(d) {
			n++
		}
	}
	return n
}
