package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"hotline-bridge/infra/dev/localkafka"
	"hotline-bridge/infra/dev/localpg"
)

// Services are the PostgreSQL and Kafka a whole run uses (the test command, the benchmark): the ones named by
// BRIDGE_TEST_PG_URL and BRIDGE_TEST_KAFKA_BROKERS, and the others started by StartServices.
type Services struct {
	PGURL   string // admin URL
	Brokers string // host:port[,host:port]

	pg    *localpg.Cluster // nil unless started here
	kafka *localkafka.Broker
}

// StartServices starts PostgreSQL and Kafka side by side, skipping one the environment names. ctx bounds the
// startup only. It reports what it started on log. On error the returned Services still holds what did start,
// so the caller's Stop can end it.
func StartServices(ctx context.Context, log io.Writer) (*Services, error) {
	svc := &Services{PGURL: os.Getenv(PGURLEnv), Brokers: os.Getenv(KafkaBrokersEnv)}
	var wg sync.WaitGroup
	var errPG, errKafka error
	if svc.PGURL == "" {
		wg.Go(func() { errPG = svc.startPostgres(ctx, log) })
	}
	if svc.Brokers == "" {
		wg.Go(func() { errKafka = svc.startKafka(ctx, log) })
	}
	wg.Wait()
	return svc, errors.Join(errPG, errKafka)
}

func (s *Services) startPostgres(ctx context.Context, log io.Writer) error {
	t0 := time.Now()
	c, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.pg, s.PGURL = c, c.URL("postgres")
	fmt.Fprintf(log, "testenv: postgres up at %s in %s\n", s.PGURL, time.Since(t0).Round(time.Millisecond))
	return nil
}

func (s *Services) startKafka(ctx context.Context, log io.Writer) error {
	t0 := time.Now()
	b, err := localkafka.Start(ctx, localkafka.Options{})
	if err != nil {
		return fmt.Errorf("start kafka: %w", err)
	}
	s.kafka, s.Brokers = b, b.Addr()
	fmt.Fprintf(log, "testenv: kafka %s up at %s in %s\n", localkafka.DefaultVersion, s.Brokers, time.Since(t0).Round(time.Millisecond))
	return nil
}

// Env is os.Environ plus the variables that point tests at these services.
func (s *Services) Env() []string {
	return append(os.Environ(), PGURLEnv+"="+s.PGURL, KafkaBrokersEnv+"="+s.Brokers)
}

// Stop stops what StartServices started; services the environment named are left alone. Safe on nil.
func (s *Services) Stop() error {
	if s == nil {
		return nil
	}
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

// Tool is a command a run needs on PATH and the Debian package that provides it.
type Tool struct{ Command, Package string }

// Kcat lets tests and people inspect topics.
var Kcat = Tool{Command: "kcat", Package: "kcat"}

// Promtool checks and unit-tests the Prometheus alert rules (infra/deploy); the package's recommends (a node
// exporter and its collectors) are left out.
var Promtool = Tool{Command: "promtool", Package: "prometheus"}

// Chromium loads the status page in its test, headless.
var Chromium = Tool{Command: "/usr/bin/chromium", Package: "chromium"}

// EnsureTools installs the missing tools with apt-get (one update, one install) when we are root; otherwise it
// says which to install.
func EnsureTools(log io.Writer, tools ...Tool) error {
	var missing []string
	for _, t := range tools {
		if _, err := exec.LookPath(t.Command); err != nil {
			missing = append(missing, t.Package)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing on PATH and we are not root to install them: run `sudo apt-get install -y %v`", missing)
	}
	fmt.Fprintf(log, "testenv: installing %v with apt-get\n", missing)
	install := append([]string{"install", "-y", "-q", "--no-install-recommends"}, missing...)
	for _, args := range [][]string{{"update", "-q"}, install} {
		cmd := exec.Command("apt-get", args...)
		cmd.Stdout, cmd.Stderr = log, log
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("install %v: apt-get %v: %w", missing, args, err)
		}
	}
	for _, t := range tools {
		if _, err := exec.LookPath(t.Command); err != nil {
			return fmt.Errorf("%s still not on PATH after apt-get install %s: %w", t.Command, t.Package, err)
		}
	}
	return nil
}
