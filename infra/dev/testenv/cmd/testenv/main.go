// Command testenv runs a command against throwaway PostgreSQL and Kafka:
//
//	go run ./infra/testenv/cmd/testenv -- go test ./...
//
// It makes sure kcat is installed, starts both services once, exports
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
	"sync"
	"syscall"
	"time"

	"hotline-bridge/infra/dev/localkafka"
	"hotline-bridge/infra/dev/localpg"
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

	if err := ensureKcat(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	svc, err := startServices(sigs)
	defer func() {
		if err := svc.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stop services: %v\n", err)
		}
	}()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	return runChild(args, svc.env(), sigs)
}

// services are the ones this command started; nil fields were given by the
// environment or failed to start.
type services struct {
	pg             *localpg.Cluster
	kafka          *localkafka.Broker
	pgURL, brokers string
}

// startServices starts PostgreSQL and Kafka side by side, giving up early
// if a signal arrives.
func startServices(sigs <-chan os.Signal) (*services, error) {
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
	svc := &services{pgURL: os.Getenv(testenv.PGURLEnv), brokers: os.Getenv(testenv.KafkaBrokersEnv)}
	var wg sync.WaitGroup
	var errPG, errKafka error
	if svc.pgURL == "" {
		wg.Go(func() { errPG = svc.startPostgres(ctx) })
	}
	if svc.brokers == "" {
		wg.Go(func() { errKafka = svc.startKafka(ctx) })
	}
	wg.Wait()
	return svc, errors.Join(errPG, errKafka)
}

func (s *services) startPostgres(ctx context.Context) error {
	t0 := time.Now()
	c, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.pg, s.pgURL = c, c.URL("postgres")
	fmt.Fprintf(os.Stderr, "testenv: postgres up at %s in %s\n", s.pgURL, time.Since(t0).Round(time.Millisecond))
	return nil
}

func (s *services) startKafka(ctx context.Context) error {
	t0 := time.Now()
	b, err := localkafka.Start(ctx, localkafka.Options{})
	if err != nil {
		return fmt.Errorf("start kafka: %w", err)
	}
	s.kafka, s.brokers = b, b.Addr()
	fmt.Fprintf(os.Stderr, "testenv: kafka %s up at %s in %s\n", localkafka.DefaultVersion, s.brokers, time.Since(t0).Round(time.Millisecond))
	return nil
}

func (s *services) env() []string {
	return append(os.Environ(), testenv.PGURLEnv+"="+s.pgURL, testenv.KafkaBrokersEnv+"="+s.brokers)
}

func (s *services) stop() error {
	var errs []error
	if s.kafka != nil {
		if err := s.kafka.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("kafka: %w", err))
		}
	}
	if s.pg != nil {
		if err := s.pg.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("postgres: %w", err))
		}
	}
	return errors.Join(errs...)
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

// ensureKcat installs kcat with apt when it is missing and we are root, so
// tests and people can inspect topics.
func ensureKcat() error {
	if _, err := exec.LookPath("kcat"); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("kcat is not on PATH and we are not root to install it: run `sudo apt-get install -y kcat`")
	}
	fmt.Fprintln(os.Stderr, "testenv: kcat missing, installing it with apt-get")
	for _, args := range [][]string{{"update", "-q"}, {"install", "-y", "-q", "kcat"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("install kcat: apt-get %v: %w", args, err)
		}
	}
	if _, err := exec.LookPath("kcat"); err != nil {
		return fmt.Errorf("kcat still not on PATH after apt-get install: %w", err)
	}
	return nil
}
