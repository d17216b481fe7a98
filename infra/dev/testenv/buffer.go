package testenv

import (
	"bytes"
	"strings"
	"sync"
)

// SyncBuffer collects what a goroutine or a child process writes — logs, stderr — while the test reads it.
// The zero value is ready to use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Count is how many times substr has been written so far.
func (b *SyncBuffer) Count(substr string) int { return strings.Count(b.String(), substr) }
