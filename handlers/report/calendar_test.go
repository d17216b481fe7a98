package report_test

import (
	"testing"
	"time"

	"hotline-bridge/handlers/report"
)

// The official calendar of 2025 and 2026 as the State Council announced it (国办发明电〔2024〕12号, 〔2025〕7号),
// read through lunar-go: weekday holidays are off, make-up Saturdays and Sundays are on.
func TestWorkdaysFollowTheOfficialHolidaysAndMakeUpWorkdays(t *testing.T) {
	cal := report.Calendar{}
	for day, want := range map[report.Day]bool{
		report.Date(2025, 9, 26):  true,  // Friday
		report.Date(2025, 9, 27):  false, // Saturday
		report.Date(2025, 9, 28):  true,  // Sunday, make-up workday for National Day
		report.Date(2025, 10, 1):  false, // National Day and Mid-Autumn, Oct 1–8
		report.Date(2025, 10, 6):  false, // a Monday inside the holiday
		report.Date(2025, 10, 8):  false,
		report.Date(2025, 10, 9):  true,
		report.Date(2025, 10, 11): true,  // Saturday, make-up workday
		report.Date(2025, 10, 12): false, // Sunday
		report.Date(2026, 2, 13):  true,  // Friday before Spring Festival
		report.Date(2026, 2, 14):  true,  // Saturday, make-up workday for Spring Festival
		report.Date(2026, 2, 15):  false, // Spring Festival, Feb 15–23
		report.Date(2026, 2, 17):  false, // 春节 itself, a Tuesday
		report.Date(2026, 2, 23):  false, // a Monday, last day off
		report.Date(2026, 2, 24):  true,
		report.Date(2026, 2, 28):  true, // Saturday, make-up workday
		report.Date(2026, 3, 1):   false,
		report.Date(2026, 10, 1):  false, // National Day 2026
	} {
		if got := cal.Workday(day); got != want {
			t.Errorf("%s (%s): workday %v, want %v", day, day.Weekday(), got, want)
		}
	}
	for _, y := range []int{2025, 2026} {
		if !cal.Knows(y) {
			t.Errorf("the calendar does not know %d's holidays", y)
		}
	}
}

func TestDeadlinesInWorkingDaysSkipHolidaysAndCountMakeUpDays(t *testing.T) {
	cal := report.Calendar{}
	for _, c := range []struct {
		from report.Day
		n    int
		want report.Day
	}{
		// Registered the day before National Day: Oct 9, 10, 11 (make-up), 13, 14, 15, 16.
		{report.Date(2025, 9, 30), 7, report.Date(2025, 10, 16)},
		{report.Date(2025, 10, 1), 7, report.Date(2025, 10, 16)}, // registered during the holiday
		{report.Date(2025, 9, 26), 1, report.Date(2025, 9, 28)},  // the make-up Sunday counts
		// Spring Festival 2026: Feb 13, 14 (make-up), 24, 25, 26, 27, 28 (make-up).
		{report.Date(2026, 2, 12), 7, report.Date(2026, 2, 28)},
		{report.Date(2026, 2, 14), 1, report.Date(2026, 2, 24)},
		// Art. 31's five days from a case filed on a Friday in an ordinary week.
		{report.Date(2026, 11, 20), 5, report.Date(2026, 11, 27)},
	} {
		if got := cal.AddWorkdays(c.from, c.n); got != c.want {
			t.Errorf("%d working days after %s: %s, want %s", c.n, c.from, got, c.want)
		}
	}
	if got := cal.Workdays(report.Date(2026, 2, 13), report.Date(2026, 2, 24)); got != 2 {
		t.Errorf("working days after 2026-02-13 up to 2026-02-24: %d, want 2 (Feb 14 and 24)", got)
	}
	if got := cal.Workdays(report.Date(2025, 9, 30), report.Date(2025, 10, 31)); got != 18 {
		t.Errorf("working days in October 2025: %d, want 18 (Oct 9, 10, 11 and three full weeks)", got)
	}
}

func TestTimeLimitsCountWhatFellDueInThePeriod(t *testing.T) {
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	p := report.Period{First: report.Date(2025, 10, 16), Last: report.Date(2025, 10, 16)}
	clocks := []report.Clock{
		{Rule: "acceptance", Unit: "420106", RegistrationID: "R1", RowID: "R1", Start: *at("2025-09-30T10:00:00+08:00"), Done: at("2025-10-16T17:00:00+08:00")},
		{Rule: "acceptance", Unit: "420106", RegistrationID: "R2", RowID: "R2", Start: *at("2025-09-30T10:00:00+08:00"), Done: at("2025-10-17T09:00:00+08:00")},
		// 20:00 UTC on Sep 30 is 04:00 on Oct 1 in Shanghai: the same deadline.
		{Rule: "acceptance", Unit: "420106", RegistrationID: "R3", RowID: "R3", Start: *at("2025-09-30T20:00:00Z")},
		{Rule: "acceptance", Unit: "420102", RegistrationID: "R4", RowID: "R4", Start: *at("2025-10-09T09:00:00+08:00")}, // due Oct 17
		// 16:30 UTC on Oct 16 is already Oct 17 in Shanghai: late.
		{Rule: "acceptance", Unit: "420102", RegistrationID: "R5", RowID: "R5", Start: *at("2025-09-29T10:00:00+08:00"), Done: at("2025-10-15T16:30:00Z")},
	}
	lines, overdue := report.EvaluateLimits(report.Calendar{}, p, clocks)
	want := []report.TimeLimitLine{{Unit: "420106", Rule: "acceptance", Due: 3, Met: 1, Overdue: 2}}
	if len(lines) != 1 || lines[0] != want[0] {
		t.Errorf("lines %+v, want %+v (R5 was due Oct 15, R4 is due Oct 17)", lines, want)
	}
	if len(overdue) != 2 || overdue[0].RegistrationID != "R2" || overdue[0].Done == nil || *overdue[0].Done != report.Date(2025, 10, 17) ||
		overdue[1].RegistrationID != "R3" || overdue[1].Done != nil || overdue[1].Start != report.Date(2025, 10, 1) ||
		overdue[1].Deadline != report.Date(2025, 10, 16) {
		t.Errorf("overdue %+v, want R2 done Oct 17 and R3 not done, both due Oct 16", overdue)
	}
	p = report.Period{First: report.Date(2025, 10, 15), Last: report.Date(2025, 10, 15)}
	if lines, _ := report.EvaluateLimits(report.Calendar{}, p, clocks[4:]); len(lines) != 1 || lines[0].Overdue != 1 {
		t.Errorf("2025-10-15: %+v, want R5 overdue: it was decided on Oct 16 in Shanghai", lines)
	}
}

func TestPeriodsAreShanghaiDays(t *testing.T) {
	now := time.Date(2026, 12, 1, 16, 30, 0, 0, time.UTC) // 00:30 on Dec 2 in Shanghai
	p, err := report.ParsePeriod("", "", "", now)
	if err != nil || p.First != report.Date(2026, 12, 1) || p.Last != p.First {
		t.Fatalf("default period %v (%v), want yesterday in Shanghai, 2026-12-01", p, err)
	}
	if got := p.From().UTC().Format(time.RFC3339); got != "2026-11-30T16:00:00Z" {
		t.Errorf("2026-12-01 starts at %s, want 2026-11-30T16:00:00Z", got)
	}
	if got := p.To().UTC().Format(time.RFC3339); got != "2026-12-01T16:00:00Z" {
		t.Errorf("2026-12-01 ends at %s, want 2026-12-01T16:00:00Z", got)
	}
	if p, err := report.ParsePeriod("", "2026-11-01", "2026-11-30", now); err != nil || p.String() != "2026-11-01 .. 2026-11-30" {
		t.Errorf("--from/--to: %v, %v", p, err)
	}
	_, err = report.ParsePeriod("", "2026-13-01", "2026-11-30x", now)
	if err == nil || !contains(err.Error(), `--from "2026-13-01"`, `--to "2026-11-30x"`) {
		t.Errorf("bad dates: %v, want both named", err)
	}
	if _, err := report.ParsePeriod("2026-11-01", "2026-11-01", "", now); err == nil {
		t.Error("--day with --from accepted")
	}
	if _, err := report.ParsePeriod("", "2026-11-02", "2026-11-01", now); err == nil {
		t.Error("--to before --from accepted")
	}
}
