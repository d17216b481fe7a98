// Command testenv runs a command against throwaway PostgreSQL and Kafka:
//
//	go run ./infra/testenv/cmd/testenv -- go test ./...
//
// It makes sure kcat and promtool are installed, starts both services once, exports
// BRIDGE_TEST_PG_URL and BRIDGE_TEST_KAFKA_BROKERS to the command, stops the
// services however the command ends, and exits with the command's status.
// A variable already set in the environment is passed on and its service
// is not started.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"hotline-bridge/infra/dev/localjaeger"
	"hotline-bridge/infra/dev/testenv"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: testenv -- COMMAND [ARGS...]")
		return 2
	}
	// Signals are relayed to the command; we stop only once it has ended.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	if err := testenv.EnsureTools(os.Stderr, testenv.Kcat, testenv.Promtool, testenv.Chromium); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	jaegerBuilt := prebuildJaeger()
	defer func() { <-jaegerBuilt }() // never leave a go build behind
	svc, err := startServices(sigs)
	defer func() {
		if err := svc.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stop services: %v\n", err)
		}
	}()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	return runChild(args, svc.Env(), sigs)
}

// prebuildJaeger builds the Jaeger binary of the tracing tests in the background, on a fresh machine alongside
// the services' startup and the tests' compilation (it takes minutes); the tests that need it wait for its lock.
// A failure is only reported: those tests try again and fail with the build's log.
func prebuildJaeger() <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t0 := time.Now()
		if _, err := localjaeger.Binary(context.Background()); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: build jaeger: %v\n", err)
			return
		}
		if took := time.Since(t0); took > time.Second {
			fmt.Fprintf(os.Stderr, "testenv: jaeger binary built in %s\n", took.Round(time.Second))
		}
	}()
	return done
}

// startServices starts PostgreSQL and Kafka, giving up early if a signal arrives.
func startServices(sigs <-chan os.Signal) (*testenv.Services, error) {
	ctx, cancel := context.WithCancel(context.Background())
	watching := make(chan struct{})
	defer func() { cancel(); <-watching }() // no signal may be swallowed after startup
	go func() {
		defer close(watching)
		select {
		case sig := <-sigs:
			fmt.Fprintf(os.Stderr, "testenv: %v during startup, stopping\n", sig)
			cancel()
		case <-ctx.Done():
		}
	}()
	return testenv.StartServices(ctx, os.Stderr)
}

// runChild runs the command with our stdio, relays signals to it and
// returns its exit status (128+signal if a signal ended it).
func runChild(args, env []string, sigs <-chan os.Signal) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Env = os.Stdin, os.Stdout, os.Stderr, env
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: start %s: %v\n", args[0], err)
		return 127
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	return exitCode(err)
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return exit.ExitCode()
}
