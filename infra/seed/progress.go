package seed

import "sync"

// Progress tells how far Generate and Change have come while they run, so a caller can show it; it counts only
// what has committed. Its methods are safe from any goroutine, also on a nil *Progress (which counts nothing).
type Progress struct {
	mu        sync.Mutex // rows and regs change together: an estimate from one without the other is far off
	rows      int64      // rows Generate has committed, over all tables
	regs      int64      // of which registrations: each brings its family, so they measure how far Generate is
	reference int64      // the organisation tree, personnel and the dictionary, written first
	wantRegs  int64
	rounds    int64 // rounds Change has committed
}

// Rows is the number of rows Generate has committed so far.
func (p *Progress) Rows() int64 { return p.read(func() int64 { return p.rows }) }

// RowsTotal estimates the rows Generate will write in all: the reference rows plus the rows per registration
// committed so far times the registrations asked for. Families vary in size, so it moves a little as chunks
// commit and is exact at the end; 0 (unknown) until the first chunk commits.
func (p *Progress) RowsTotal() int64 {
	return p.read(func() int64 {
		if p.regs == 0 {
			return 0
		}
		return p.reference + (p.rows-p.reference)*p.wantRegs/p.regs
	})
}

// Rounds is the number of rounds Change has committed so far.
func (p *Progress) Rounds() int64 { return p.read(func() int64 { return p.rounds }) }

func (p *Progress) read(f func() int64) int64 {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return f()
}

func (p *Progress) update(f func()) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
}

func (p *Progress) start(registrations int) { p.update(func() { p.wantRegs = int64(registrations) }) }

func (p *Progress) referenceDone(st Stats) {
	p.update(func() { p.reference = int64(st.Total()); p.rows += p.reference })
}

func (p *Progress) chunkDone(chunk Stats) {
	p.update(func() { p.rows += int64(chunk.Total()); p.regs += int64(chunk.Rows[tables[tReg].name]) })
}

func (p *Progress) roundDone() { p.update(func() { p.rounds++ }) }
