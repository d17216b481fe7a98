package sort

import (
	"hash/maphash"
	"sync"

	"hotline-bridge/events"
)

// decidedHint remembers which registrations this process recently saw decided, so that a batch does not read
// their ledger entries before taking its locks only to learn that they are not missing (see missingParents):
// in a catch-up that read was one primary-key probe for almost every family row, a third of all probes. It is a
// hint, not state: the read under the locks stays the authority, and a registration wrongly taken for decided
// (one parked again since, by this or another instance, or a hash collision) is pulled after the locks like any
// parent that went missing meanwhile (pullParent). Two generations of at most hintGeneration ids each keep what
// was seen recently in a few megabytes, whatever the backlog.
type decidedHint struct {
	mu       sync.Mutex
	seed     maphash.Seed
	now, old map[uint64]struct{}
}

// hintGeneration bounds one generation of the hint. A 1x catch-up decides its 175,000 registrations in about 25
// seconds, and their children come within seconds of them: two generations hold more than all of them, in a few
// MB of 8-byte hashes.
const hintGeneration = 1 << 17

func newDecidedHint() *decidedHint {
	return &decidedHint{seed: maphash.MakeSeed(), now: map[uint64]struct{}{}}
}

// unknown are the registration refs the hint cannot vouch for.
func (h *decidedHint) unknown(refs []Ref) []Ref {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := refs[:0:0]
	for _, r := range refs {
		if !h.hasLocked(r.ID) {
			out = append(out, r)
		}
	}
	return out
}

func (h *decidedHint) hasLocked(id string) bool {
	k := maphash.String(h.seed, id)
	if _, ok := h.now[k]; ok {
		return true
	}
	_, ok := h.old[k]
	return ok
}

// learn takes in what a committed batch knows of registrations: decided ones are remembered, one found or left
// undecided is forgotten.
func (h *decidedHint) learn(ledger map[Ref]seen) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for r, s := range ledger {
		if r.Table != events.WorkOrderKind.Table || !s.known {
			continue
		}
		k := maphash.String(h.seed, r.ID)
		if !s.Decided {
			delete(h.now, k)
			delete(h.old, k)
			continue
		}
		if len(h.now) >= hintGeneration {
			h.old, h.now = h.now, make(map[uint64]struct{}, hintGeneration)
		}
		h.now[k] = struct{}{}
	}
}
