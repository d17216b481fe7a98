package progress

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

// clock drives a display: each tick returns once the display has sampled the counters and drawn the line, so
// the test may change the counters for the next one.
type clock struct {
	ticks  chan time.Time
	ticked chan struct{}
}

func (c clock) tick(at time.Time) {
	c.ticks <- at
	<-c.ticked
}

// clocked starts a plain display on a buffer driven by the returned clock; now is the clock of the final line.
func clocked(t *testing.T, stages []Stage, now *time.Time) (*Display, clock, *bytes.Buffer) {
	t.Helper()
	c := clock{ticks: make(chan time.Time), ticked: make(chan struct{})}
	var out bytes.Buffer
	d := Show(context.Background(), &out, stages, Options{ticks: c.ticks, now: func() time.Time { return *now },
		ticked: func() { c.ticked <- struct{}{} }})
	t.Cleanup(d.Stop)
	return d, c, &out
}

func counter(n *atomic.Int64) func() int64 { return n.Load }

func fixed(n int64) func() int64 { return func() int64 { return n } }

func lines(out *bytes.Buffer) []string {
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

func TestPlainLinesCountRateAndETAPerStage(t *testing.T) {
	var captured, sorted atomic.Int64
	now := t0
	d, clk, out := clocked(t, []Stage{
		{Name: "captured", Done: counter(&captured), Total: fixed(988188)},
		{Name: "sorted", Done: counter(&sorted)}, // total unknown
	}, &now)
	captured.Store(260000)
	sorted.Store(100000)
	clk.tick(t0.Add(5 * time.Second))
	captured.Store(412000)
	sorted.Store(150000)
	clk.tick(t0.Add(10 * time.Second))
	now = t0.Add(12 * time.Second)
	d.Stop()
	want := []string{
		"progress: captured 260000/988188 (26%) 52000/s eta 14s · sorted 100000 20000/s",
		"progress: captured 412000/988188 (41%) 41200/s eta 14s · sorted 150000 15000/s",
		"progress: final after 12s: captured 412000/988188 (41%) avg 34333/s · sorted 150000 avg 12500/s",
	}
	if got := lines(out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The rate follows the recent window, not the average since the start: a catch-up that slows down shows it.
func TestRateIsMeasuredOverTheRecentWindow(t *testing.T) {
	var n atomic.Int64
	now := t0
	d, clk, out := clocked(t, []Stage{{Name: "published", Done: counter(&n), Total: fixed(1000000)}}, &now)
	for i, done := range []int64{100000, 200000, 300000, 310000, 320000} { // 20000/s, then 2000/s
		n.Store(done)
		clk.tick(t0.Add(time.Duration(i+1) * 5 * time.Second))
	}
	now = t0.Add(25 * time.Second)
	d.Stop()
	got := lines(out)
	if want := "progress: published 320000/1000000 (32%) 2000/s eta 5m40s"; got[4] != want {
		t.Fatalf("after the slowdown got\n%s\nwant\n%s", got[4], want)
	}
	if want := "progress: final after 25s: published 320000/1000000 (32%) avg 12800/s"; got[5] != want {
		t.Fatalf("final line got\n%s\nwant\n%s", got[5], want)
	}
}

// A backlog estimate grows while the work runs: the percentage and ETA follow the total as it is now.
func TestTotalThatGrowsMovesPercentageAndETA(t *testing.T) {
	var done, backlog atomic.Int64
	now := t0
	d, clk, out := clocked(t, []Stage{{Name: "sorted", Done: counter(&done), Total: counter(&backlog)}}, &now)
	done.Store(50000)
	backlog.Store(100000)
	clk.tick(t0.Add(10 * time.Second))
	done.Store(100000)
	backlog.Store(400000)
	clk.tick(t0.Add(20 * time.Second))
	d.Stop()
	got := lines(out)
	want := []string{
		"progress: sorted 50000/100000 (50%) 5000/s eta 10s",
		"progress: sorted 100000/400000 (25%) 5000/s eta 1m0s",
	}
	if got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got[:2], "\n"), strings.Join(want, "\n"))
	}
}

func TestStalledAndOvershotStages(t *testing.T) {
	now := t0
	d, clk, out := clocked(t, []Stage{
		{Name: "stalled", Done: fixed(10), Total: fixed(100)},
		{Name: "estimated low", Done: fixed(120), Total: fixed(100)},
		{Name: "rounds", Done: fixed(3), Total: fixed(10)},
	}, &now)
	clk.tick(t0.Add(5 * time.Second))
	d.Stop()
	want := "progress: stalled 10/100 (10%) 0.0/s eta ? · estimated low 120/100 (100%) 0.0/s · rounds 3/10 (30%) 0.0/s eta ?"
	if got := lines(out)[0]; got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSlowRatesKeepADecimal(t *testing.T) {
	var rounds atomic.Int64
	now := t0
	d, clk, out := clocked(t, []Stage{{Name: "change rounds", Done: counter(&rounds), Total: fixed(10)}}, &now)
	rounds.Store(2)
	clk.tick(t0.Add(5 * time.Second))
	d.Stop()
	if want := "progress: change rounds 2/10 (20%) 0.4/s eta 20s"; lines(out)[0] != want {
		t.Fatalf("got\n%s\nwant\n%s", lines(out)[0], want)
	}
}

func TestEndOfContextPrintsTheFinalLineOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	d := Show(ctx, &out, []Stage{{Name: "generated", Done: fixed(7), Total: fixed(7)}},
		Options{ticks: make(chan time.Time), now: func() time.Time { return t0 }})
	cancel()
	d.Stop()
	d.Stop()
	if want := "progress: final after 0s: generated 7/7 (100%) avg 0.0/s\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

// Log lines written through the display land between progress lines, whole.
func TestLogLinesGoThroughTheDisplay(t *testing.T) {
	now := t0
	d, clk, out := clocked(t, []Stage{{Name: "generated", Done: fixed(1)}}, &now)
	clk.tick(t0.Add(5 * time.Second))
	if _, err := d.Write([]byte("level=INFO msg=hello\n")); err != nil {
		t.Fatal(err)
	}
	d.Stop()
	got := lines(out)
	if len(got) != 3 || got[1] != "level=INFO msg=hello" {
		t.Fatalf("got %q", got)
	}
}

func TestNothingToShowWritesNothing(t *testing.T) {
	var out bytes.Buffer
	d := Show(context.Background(), &out, nil, Options{})
	d.Stop()
	if out.Len() != 0 {
		t.Fatalf("an empty display wrote %q", out.String())
	}
	Show(context.Background(), nil, []Stage{{Name: "x", Done: fixed(1)}}, Options{}).Stop()
}
