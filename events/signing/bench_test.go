package signing_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"hotline-bridge/events/signing"
)

// benchEvent is a registration of typical size (about 1 KiB of JSON).
func benchEvent() signing.Event {
	return signing.Event{ID: "e5100dbda858ff631081270192c83271", Type: "registration.upserted", Subject: "R1000001",
		Time: "2026-11-26T15:58:31.557583Z", Key: []byte("R1000001"),
		Value: []byte(`{"id": "R1000001", "summary": "` + strings.Repeat("消费者投诉", 60) + `"}`)}
}

// BenchmarkSign is the cost per event of signing, beside the canonical encoding alone (what every event costs
// whatever the algorithm).
func BenchmarkSign(b *testing.B) {
	e := benchEvent()
	b.Run("canonical-only", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			_ = e.Canonical()
		}
	})
	for _, algorithm := range signing.Algorithms {
		key, err := signing.GenerateKey(algorithm)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(algorithm, func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := key.SignHeader(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, algorithm := range signing.Algorithms {
		key, _ := signing.GenerateKey(algorithm)
		sig, _ := key.SignHeader(benchEvent())
		e := benchEvent()
		r := signing.Record{Headers: map[string]string{"ce_id": e.ID, "ce_type": e.Type, "ce_subject": e.Subject, "ce_time": e.Time,
			signing.HeaderSignature: sig, signing.HeaderSignatureKeyID: key.ID}, Key: e.Key, Value: e.Value}
		set, _ := signing.NewKeySet(key.PublicKey(timeZero))
		b.Run(algorithm, func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if err := set.Verify(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var timeZero time.Time

// reportCPU adds the process's CPU time per operation: on a machine shared with other work, wall time per
// operation says more about the neighbours than about the algorithm.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime() time.Duration {
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
