// Command bridge is hotline-bridge: it captures the national 12315 platform's changes, keeps Wuhan's, stores them
// in Wuhan's dedicated store and distributes them to the districts over Kafka.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
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
