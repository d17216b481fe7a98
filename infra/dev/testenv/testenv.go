package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline-bridge/infra/dev/localjaeger"
	"hotline-bridge/infra/dev/localkafka"
	"hotline-bridge/infra/dev/localpg"
)

// Environment variables that point tests at running services.
const (
	PGURLEnv        = "BRIDGE_TEST_PG_URL"        // admin URL; test databases are created in it
	KafkaBrokersEnv = "BRIDGE_TEST_KAFKA_BROKERS" // comma-separated host:port list
)

const (
	pgStartTimeout    = 2 * time.Minute
	kafkaStartTimeout = 15 * time.Minute // the first run downloads the broker jars
	dbOpTimeout       = 30 * time.Second
)

var mainCalled atomic.Bool

// Main runs the tests and then stops whatever services they started.
// Call it from TestMain.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if err := stopShared(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stop services: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// shared is a service started at most once per test binary.
type shared[T any] struct {
	mu      sync.Mutex
	started bool
	val     T
	addr    string
	err     error
}

var (
	sharedPG    shared[*localpg.Cluster]
	sharedKafka shared[*localkafka.Broker]
)

// get starts the service on first use; a failed start fails every later
// caller the same way instead of retrying for each test.
func (s *shared[T]) get(start func() (T, string, error)) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		s.val, s.addr, s.err = start()
	}
	return s.addr, s.err
}

func (s *shared[T]) stop(stop func(T) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.err != nil {
		return nil
	}
	s.started = false
	return stop(s.val)
}

func stopShared() error {
	var errs []error
	if err := sharedPG.stop((*localpg.Cluster).Stop); err != nil {
		errs = append(errs, fmt.Errorf("postgres: %w", err))
	}
	if err := sharedKafka.stop((*localkafka.Broker).Stop); err != nil {
		errs = append(errs, fmt.Errorf("kafka: %w", err))
	}
	if err := sharedJaeger.stop((*localjaeger.Jaeger).Stop); err != nil {
		errs = append(errs, fmt.Errorf("jaeger: %w", err))
	}
	if err := sharedSecured.stop((*securedRun).stop); err != nil {
		errs = append(errs, fmt.Errorf("secured kafka: %w", err))
	}
	return errors.Join(errs...)
}

// needMain fails the test when a service would have to be started but
// nothing would stop it at exit.
func needMain(t testing.TB, env string) {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatalf("testenv: %s is unset and this package's TestMain does not call testenv.Main, "+
			"which must stop the services it starts; add `func TestMain(m *testing.M) { testenv.Main(m) }` "+
			"or run through `go run ./infra/testenv/cmd/testenv -- go test ...`", env)
	}
}

// PostgresAdminURL is the admin URL of the shared cluster: $BRIDGE_TEST_PG_URL
// or a cluster this binary starts on first use.
func PostgresAdminURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(PGURLEnv); u != "" {
		return u
	}
	needMain(t, PGURLEnv)
	u, err := sharedPG.get(func() (*localpg.Cluster, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), pgStartTimeout)
		defer cancel()
		c, err := localpg.Start(ctx, localpg.Options{})
		if err != nil {
			return nil, "", err
		}
		return c, c.URL("postgres"), nil
	})
	if err != nil {
		t.Fatalf("testenv: start postgres: %v", err)
	}
	return u
}

// Postgres returns the URL of a fresh, empty database with a name unique to
// this test, dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := PostgresAdminURL(t)
	name := "t_" + sanitize(strings.ToLower(t.Name()), 40, isPGNameChar) + "_" + randomHex(t)
	ctx, cancel := context.WithTimeout(context.Background(), dbOpTimeout)
	defer cancel()
	dbURL, err := localpg.CreateDatabase(ctx, admin, name)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dbOpTimeout)
		defer cancel()
		if err := localpg.DropDatabase(ctx, admin, name); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	return dbURL
}

// KafkaBrokers returns the seed brokers of the shared Kafka:
// $BRIDGE_TEST_KAFKA_BROKERS or a broker this binary starts on first use.
func KafkaBrokers(t testing.TB) []string {
	t.Helper()
	if env := os.Getenv(KafkaBrokersEnv); env != "" {
		return splitBrokers(env)
	}
	needMain(t, KafkaBrokersEnv)
	addr, err := sharedKafka.get(func() (*localkafka.Broker, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), kafkaStartTimeout)
		defer cancel()
		b, err := localkafka.Start(ctx, localkafka.Options{})
		if err != nil {
			return nil, "", err
		}
		return b, b.Addr(), nil
	})
	if err != nil {
		t.Fatalf("testenv: start kafka: %v", err)
	}
	return []string{addr}
}

func splitBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// TopicPrefix returns a prefix unique to this test run, such as
// "TestCapture_late-commit.3f9a01c2.", so tests sharing a broker never
// read each other's records.
func TopicPrefix(t testing.TB) string {
	t.Helper()
	return sanitize(t.Name(), 100, isTopicChar) + "." + randomHex(t) + "."
}

// OwnKafka starts a broker for this test alone, which the test may Kill and
// Restart; it is stopped when the test ends.
func OwnKafka(t testing.TB) *localkafka.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkaStartTimeout)
	defer cancel()
	b, err := localkafka.Start(ctx, localkafka.Options{})
	if err != nil {
		t.Fatalf("testenv: start own kafka: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("testenv: stop own kafka: %v", err)
		}
	})
	return b
}

func randomHex(t testing.TB) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testenv: random name: %v", err)
	}
	return hex.EncodeToString(b[:])
}

// sanitize keeps the characters ok allows, replaces the rest with '_' and
// cuts the result to max bytes.
func sanitize(s string, max int, ok func(rune) bool) string {
	out := []rune(s)
	for i, r := range out {
		if !ok(r) {
			out[i] = '_'
		}
	}
	if len(out) > max {
		out = out[:max]
	}
	return string(out)
}

func isPGNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_'
}

func isTopicChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}
