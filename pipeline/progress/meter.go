package progress

import "time"

type sample struct {
	at   time.Time
	done int64
}

// meter follows one stage: its count and total at the last sample, and the samples of the recent window the
// rate is measured over. A windowed rate follows a catch-up that speeds up or slows down, which an average
// since the start would hide for minutes.
type meter struct {
	stage  Stage
	first  sample   // at Show: the final averages run from here
	recent []sample // oldest first; the oldest is the last one at or before the window's start
	total  int64
}

type meters []*meter

func newMeters(stages []Stage, at time.Time) meters {
	ms := make(meters, len(stages))
	for i, s := range stages {
		first := sample{at: at, done: s.Done()}
		ms[i] = &meter{stage: s, first: first, recent: []sample{first}, total: totalOf(s)}
	}
	return ms
}

func totalOf(s Stage) int64 {
	if s.Total == nil {
		return 0
	}
	return max(s.Total(), 0)
}

func (ms meters) sample(at time.Time, window time.Duration) {
	for _, m := range ms {
		m.sample(at, window)
	}
}

func (m *meter) sample(at time.Time, window time.Duration) {
	m.recent = append(m.recent, sample{at: at, done: m.stage.Done()})
	m.total = totalOf(m.stage)
	start := at.Add(-window)
	for len(m.recent) > 2 && !m.recent[1].at.After(start) {
		m.recent = m.recent[1:]
	}
}

func (m *meter) last() sample { return m.recent[len(m.recent)-1] }

// rate per second between two samples; 0 when no time passed between them.
func rate(from, to sample) float64 {
	dt := to.at.Sub(from.at).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(to.done-from.done) / dt
}

// readings: each stage's count, total and rate over the recent window.
func (ms meters) readings() []reading {
	rs := make([]reading, len(ms))
	for i, m := range ms {
		rs[i] = reading{name: m.stage.Name, done: m.last().done, total: m.total, rate: rate(m.recent[0], m.last())}
	}
	return rs
}

// averages: as readings, with the rate averaged over the whole display, for the final line.
func (ms meters) averages() []reading {
	rs := make([]reading, len(ms))
	for i, m := range ms {
		rs[i] = reading{name: m.stage.Name, done: m.last().done, total: m.total, rate: rate(m.first, m.last()), final: true}
	}
	return rs
}
