// Command bridge is hotline-bridge: it captures the national 12315 platform's changes, keeps Wuhan's, stores them
// in Wuhan's dedicated store and distributes them to the districts over Kafka.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// The garbage collector's defaults, unless GOGC or GOMEMLIMIT say otherwise. A catch-up allocates fast but keeps
// little alive (a live heap of about 50 MB at its peak): at Go's default GOGC=100 the collector ran every few
// megabytes and took about an eighth of the bridge's CPU. Collecting at five times the live heap, within a soft
// limit of 192 MiB of the runtime's memory, halved that (measured: 3.6 of 30 CPU seconds in a 1x catch-up before,
// 1.9 of 23 after); peak RSS stays near the limit, about 218 MB (150-213 MB before).
const (
	gcPercent   = 400
	memoryLimit = 192 << 20
)

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "bridge:", err)
		// bridge inspect says warning (1) from critical (2); everything else that fails exits 1.
		if coded, ok := errors.AsType[interface {
			error
			ExitCode() int
		}](err); ok {
			os.Exit(coded.ExitCode())
		}
		os.Exit(1)
	}
}

// tuneGC applies the collector's defaults above where the environment sets none.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}
