package seed

import (
	"testing"
	"time"
)

// BenchmarkGenerateInMemory measures generation alone, without PostgreSQL: 1000 registrations per op.
func BenchmarkGenerateInMemory(b *testing.B) {
	now := time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC)
	g := newGen(1, buildTree(), newClock(now, 30))
	g.b = newBatch()
	g.personnel()
	b.ReportAllocs()
	for b.Loop() {
		g.b.reset()
		for i := range 1000 {
			g.registration(g.registeredAt(i, 1000), i%25 == 0)
		}
	}
}
