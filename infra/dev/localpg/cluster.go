package localpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/infra/dev/localproc"
)

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir  string // temporary directory: data/, socket, logs
	port int
	proc *localproc.Process // the postmaster

	stopOnce sync.Once
	stopErr  error
}

const (
	superuser      = "postgres"
	startAttempts  = 3 // a free port can be taken before postgres binds it
	connectTimeout = 2 * time.Second
)

// Start initialises a new cluster in a temporary directory and starts it.
// ctx bounds the startup only; the server runs until Stop.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("localpg options: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	bin, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	who, err := serverIdentity()
	if err != nil {
		return nil, err
	}
	dir, err := makeClusterDir(opts.BaseDir, who)
	if err != nil {
		return nil, err
	}
	c, err := initAndStart(ctx, bin, dir, who, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func makeClusterDir(base string, who *runAs) (string, error) {
	dir, err := os.MkdirTemp(base, "localpg-")
	if err != nil {
		return "", fmt.Errorf("create cluster directory in %s: %w", base, err)
	}
	if err := who.chown(dir); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("give cluster directory %s to user postgres: %w", dir, err)
	}
	return dir, nil
}

func initAndStart(ctx context.Context, bin, dir string, who *runAs, opts Options) (*Cluster, error) {
	if err := initdb(ctx, bin, dir, who); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		c, err := startServer(ctx, bin, dir, who, opts)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if opts.Port != 0 || !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, lastErr
}

func initdb(ctx context.Context, bin, dir string, who *runAs) error {
	logPath := filepath.Join(dir, "initdb.log")
	cmd := who.command(filepath.Join(bin, "initdb"),
		"-D", filepath.Join(dir, "data"), "-U", superuser, "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	p, err := localproc.Start(cmd, logPath, syscall.SIGQUIT)
	if err != nil {
		return fmt.Errorf("initdb in %s: %w", dir, err)
	}
	if err := p.Wait(ctx); err != nil {
		return fmt.Errorf("initdb in %s: %w\n--- initdb log tail ---\n%s", dir, err, localproc.LogTail(logPath))
	}
	return nil
}

var errPortTaken = errors.New("port already in use")

func startServer(ctx context.Context, bin, dir string, who *runAs, opts Options) (*Cluster, error) {
	port := opts.Port
	if port == 0 {
		p, err := localproc.FreePort()
		if err != nil {
			return nil, err
		}
		port = p
	}
	c := &Cluster{dir: dir, port: port}
	// SIGQUIT on the parent's death is the postmaster's immediate shutdown: no server outlives the test process
	// that started it, even one that dies without calling Stop.
	cmd := who.command(filepath.Join(bin, "postgres"), serverArgs(dir, port, opts)...)
	proc, err := localproc.Start(cmd, c.logPath(), syscall.SIGQUIT)
	if err != nil {
		return nil, err
	}
	c.proc = proc
	if err := c.waitReady(ctx); err != nil {
		c.shutdown()
		return nil, c.startError(err)
	}
	return c, nil
}

func serverArgs(dir string, port int, opts Options) []string {
	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": dir,
		"max_connections":         strconv.Itoa(opts.MaxConnections),
		"fsync":                   "off",
		"synchronous_commit":      "off",
		"full_page_writes":        "off",
		"wal_level":               "logical", // lets tests use logical decoding
		"logging_collector":       "off",
		"log_min_messages":        "warning",
		// The sorter sizes its transactions to the lock table (see infra/postgres/store.go); the README asks
		// production stores for the same setting.
		"max_locks_per_transaction": "256",
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	args := []string{"-D", filepath.Join(dir, "data"), "-p", strconv.Itoa(port)}
	for _, k := range sortedKeys(settings) {
		args = append(args, "-c", k+"="+settings[k])
	}
	return args
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// waitReady polls until the server accepts a real connection, the
// postmaster exits, or ctx ends.
func (c *Cluster) waitReady(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.ping(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-c.proc.Exited():
			return fmt.Errorf("postgres exited during startup: %v", c.proc.Err())
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready: %w (last attempt: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (c *Cluster) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL(superuser))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

func (c *Cluster) startError(err error) error {
	tail := localproc.LogTail(c.logPath())
	if strings.Contains(tail, "Address already in use") {
		err = fmt.Errorf("%w: %w", errPortTaken, err)
	}
	return fmt.Errorf("start postgres on 127.0.0.1:%d in %s: %w\n--- server log tail ---\n%s", c.port, c.dir, err, tail)
}

func (c *Cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

// Port is the TCP port the server listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Dir is the cluster's temporary directory (data/ and logs); gone after Stop.
func (c *Cluster) Dir() string { return c.dir }

// URL is a connection URL for the superuser to database dbname.
func (c *Cluster) URL(dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates an empty database and returns its URL.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) (string, error) {
	return CreateDatabase(ctx, c.URL(superuser), name)
}

// Stop shuts the server down (fast mode, escalating if it hangs) and removes
// its directory. It is safe to call more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		err := c.shutdown()
		if rmErr := os.RemoveAll(c.dir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove cluster directory %s: %w", c.dir, rmErr))
		}
		c.stopErr = err
	})
	return c.stopErr
}

// shutdown asks for a fast shutdown (SIGINT), then an immediate one
// (SIGQUIT), then kills; it returns once the postmaster has exited.
func (c *Cluster) shutdown() error {
	err := c.proc.Stop(localproc.Step{Signal: syscall.SIGINT, Grace: 30 * time.Second},
		localproc.Step{Signal: syscall.SIGQUIT, Grace: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("stop postgres: %w\n--- server log tail ---\n%s", err, localproc.LogTail(c.logPath()))
	}
	return nil
}
