package progress

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// bars draws one bar per stage on a terminal with mpb, which redraws them in place. The text beside each bar
// comes from the same reading methods as the plain lines.
type bars struct {
	w     io.Writer
	p     *mpb.Progress
	bars  []*mpb.Bar
	shown []atomic.Pointer[reading] // read by mpb's render goroutine, written by the display's
	done  bool
}

func newBars(w io.Writer, stages []Stage, refresh time.Duration) *bars {
	b := &bars{w: w, p: mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(refresh), mpb.WithWidth(100))}
	b.shown = make([]atomic.Pointer[reading], len(stages))
	for i, s := range stages {
		b.shown[i].Store(&reading{name: s.Name})
		b.bars = append(b.bars, b.add(s.Name, &b.shown[i]))
	}
	return b
}

// add makes a bar with total 0, which mpb never completes by itself: a total may grow after the count reached
// it, and a completed bar stops moving.
func (b *bars) add(name string, shown *atomic.Pointer[reading]) *mpb.Bar {
	column := func(f func(reading) string) decor.Decorator {
		return decor.Any(func(decor.Statistics) string { return f(*shown.Load()) }, decor.WCSyncSpaceR)
	}
	return b.p.AddBar(0,
		mpb.PrependDecorators(decor.Name(name, decor.WCSyncWidthR)),
		mpb.AppendDecorators(column(reading.counts), column(reading.speed), column(reading.eta)),
	)
}

func (b *bars) update(rs []reading) {
	for i, r := range rs {
		b.shown[i].Store(&r)
		b.bars[i].SetTotal(r.total, false)
		b.bars[i].SetCurrent(r.done)
	}
}

// finish shows the averages and leaves the bars on the screen: aborting without dropping ends a bar where it
// is, and Wait returns once that last frame is drawn.
func (b *bars) finish(rs []reading, _ time.Duration) {
	b.update(rs)
	for _, bar := range b.bars {
		bar.Abort(false)
	}
	b.p.Wait()
	b.done = true
}

// Write goes through mpb while the bars run, so the line lands above them; afterwards straight to the terminal.
func (b *bars) Write(p []byte) (int, error) {
	if b.done {
		return b.w.Write(p)
	}
	return b.p.Write(p)
}
