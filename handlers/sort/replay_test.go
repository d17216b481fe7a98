package sort_test

import (
	"context"
	"testing"

	"hotline-bridge/events"
)

func (w *world) replay(from string, vs ...events.RowVersion) {
	w.t.Helper()
	if rejected, err := w.sorter.Replay(context.Background(), vs, from); err != nil || len(rejected) > 0 {
		w.t.Fatalf("replay %d versions from %s: %v %v", len(vs), from, rejected, err)
	}
}

func TestReplayResendsTheCurrentVersionAndNeverLetsAnOlderOneWin(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	v1 := w.change(events.Registration, "R1", 10, registration("ORG-420106-S03"))
	w.sort(v1)
	cols := registration("ORG-420106-S03")
	cols["status"] = "done"
	v2 := w.change(events.Registration, "R1", 20, cols)
	w.sort(v2)
	w.takeOutbox()

	w.replay(events.ViaReplayCapture, v1, v2) // the capture log holds both versions
	w.wantOutbox("420106 registration.upserted R1")
	if got := w.payloadOf("registration R1", "status"); got != "done" {
		t.Errorf("status %q after replaying both versions, want the newer one's \"done\"", got)
	}
	w.replay(events.ViaReplayCapture, v1) // only the older one
	w.wantOutbox()
	if got := w.payloadOf("registration R1", "status"); got != "done" {
		t.Errorf("status %q after replaying the older version, want \"done\"", got)
	}
}

// A row re-read from upstream because it changed without a new update_time holds the current content; the capture
// log still holds the old content under the same update_time, and a replay from it must not bring that back.
func TestReplayFromCaptureKeepsTheLedgersContentUnderTheSameUpdateTime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	old := version(events.Registration, "R1", 10, map[string]any{"handle_dept_id": "ORG-420106-S03", "status": "old"})
	current := version(events.Registration, "R1", 10, map[string]any{"handle_dept_id": "ORG-420106-S03", "status": "current"})
	w.sort(old)
	w.replay(events.ViaReplayUpstream, current) // the upstream's content wins at an equal update_time
	if got := w.payloadOf("registration R1", "status"); got != "current" {
		t.Fatalf("status %q after the replay from upstream, want \"current\"", got)
	}
	w.takeOutbox()
	w.replay(events.ViaReplayCapture, old)
	w.wantOutbox()
	if got := w.payloadOf("registration R1", "status"); got != "current" {
		t.Errorf("status %q after replaying the captured old content, want \"current\"", got)
	}
}
