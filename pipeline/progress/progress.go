package progress

import (
	"cmp"
	"context"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// Stage is one counted step of the work. Done and Total are read from the display's own goroutine while the
// work runs, so they must be safe for that (an atomic.Int64's Load is).
type Stage struct {
	Name  string
	Done  func() int64 // how many so far
	Total func() int64 // how many in all as known now; 0 or a nil func means unknown. It may grow (a backlog estimate)
}

// Options tune the display. The zero value means the defaults.
type Options struct {
	Every   time.Duration // between plain lines when the writer is not a terminal; 5s when 0
	Refresh time.Duration // between bar updates on a terminal; 200ms when 0
	Window  time.Duration // the rate is measured over about this much recent time; 10s when 0

	ticks  <-chan time.Time // tests drive the display with their own clock; a real ticker when nil
	now    func() time.Time // the time of the first and the final sample; time.Now when nil
	ticked func()           // tests learn that a tick was sampled and drawn, before they change the counters
}

func (o *Options) setDefaults() {
	o.Every = cmp.Or(o.Every, 5*time.Second)
	o.Refresh = cmp.Or(o.Refresh, 200*time.Millisecond)
	o.Window = cmp.Or(o.Window, 10*time.Second)
	if o.now == nil {
		o.now = time.Now
	}
}

// renderer draws readings: update on every tick, finish once at the end with averages over the whole run.
type renderer interface {
	update(rs []reading)
	finish(rs []reading, elapsed time.Duration)
	io.Writer // a log line, printed so that it does not garble the display
}

// Display is a running progress display. Use it as the writer of log lines while it runs: on a terminal they
// are printed above the bars instead of through them.
type Display struct {
	stop     chan struct{}
	finished chan struct{}
	once     sync.Once
	mu       sync.Mutex // orders log lines against progress lines
	out      renderer
}

// Show starts showing the stages on w until Stop is called or ctx ends; then it prints where each stage got
// to. A nil w or no stages gives a display that shows nothing (Stop and Write still work).
func Show(ctx context.Context, w io.Writer, stages []Stage, opts Options) *Display {
	d := &Display{stop: make(chan struct{}), finished: make(chan struct{})}
	if w == nil || len(stages) == 0 {
		d.out = quiet{w}
		close(d.finished)
		return d
	}
	terminal := isTerminal(w)
	opts.setDefaults()
	ms := newMeters(stages, opts.now())
	if terminal {
		d.out = newBars(w, stages, opts.Refresh)
	} else {
		d.out = &plain{w: w}
	}
	ticks, stopTicker := opts.ticker(terminal)
	go func() {
		defer close(d.finished)
		defer stopTicker()
		d.loop(ctx, ms, ticks, opts)
	}()
	return d
}

// ticker: a terminal is redrawn often, a log gets a line every few seconds.
func (o Options) ticker(terminal bool) (<-chan time.Time, func()) {
	if o.ticks != nil {
		return o.ticks, func() {}
	}
	t := time.NewTicker(o.Every)
	if terminal {
		t.Reset(o.Refresh)
	}
	return t.C, t.Stop
}

func (d *Display) loop(ctx context.Context, ms meters, ticks <-chan time.Time, opts Options) {
	for {
		select {
		case at := <-ticks:
			ms.sample(at, opts.Window)
			d.locked(func() { d.out.update(ms.readings()) })
			if opts.ticked != nil {
				opts.ticked()
			}
		case <-d.stop:
			d.end(ms, opts)
			return
		case <-ctx.Done():
			d.end(ms, opts)
			return
		}
	}
}

func (d *Display) end(ms meters, opts Options) {
	at := opts.now()
	ms.sample(at, opts.Window)
	d.locked(func() { d.out.finish(ms.averages(), at.Sub(ms[0].first.at)) })
}

// Stop ends the display after printing where each stage got to; it returns once that is printed. Calling it
// again does nothing.
func (d *Display) Stop() {
	d.once.Do(func() { close(d.stop) })
	<-d.finished
}

// Write prints p (a log line) without breaking the display: above the bars on a terminal, between two progress
// lines otherwise.
func (d *Display) Write(p []byte) (n int, err error) {
	d.locked(func() { n, err = d.out.Write(p) })
	return n, err
}

func (d *Display) locked(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f()
}

// isTerminal: only a terminal can redraw bars in place; anything else (a file, a pipe) gets plain lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// quiet is the display of nothing; log lines still reach w.
type quiet struct{ w io.Writer }

func (quiet) update([]reading)                {}
func (quiet) finish([]reading, time.Duration) {}

func (q quiet) Write(p []byte) (int, error) {
	if q.w == nil {
		return len(p), nil
	}
	return q.w.Write(p)
}
