package testenv

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds, failing the test with what it waited for once timeout passes: tests wait
// for conditions, never for a fixed time.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
