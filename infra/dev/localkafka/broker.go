package localkafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"hotline-bridge/infra/dev/localproc"
)

// Broker is a throwaway single-node Kafka cluster.
type Broker struct {
	opts           Options
	java, libs     string
	dir            string // temporary: server.properties, data/, logs
	port, ctrlPort int
	tlsPort        int // the secured broker's SASL_SSL listener; 0 without one

	mu      sync.Mutex
	proc    *localproc.Process // nil before the first launch
	removed bool               // Stop has run; the broker cannot come back
}

const (
	startAttempts = 3 // a free port can be taken before Kafka binds it
)

// stopStep is a clean shutdown: SIGTERM, then 30s before SIGKILL.
var stopStep = localproc.Step{Signal: syscall.SIGTERM, Grace: 30 * time.Second}

// Start resolves the jars (once per cache), formats fresh storage and starts
// the broker, returning once a client can fetch metadata from it. ctx bounds
// the startup only; the broker runs until Stop.
func Start(ctx context.Context, opts Options) (*Broker, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("localkafka options: %w", err)
	}
	libs, err := ResolveLibs(ctx, opts)
	if err != nil {
		return nil, err
	}
	java, err := findJava()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opts.BaseDir, "localkafka-")
	if err != nil {
		return nil, fmt.Errorf("create broker directory in %s: %w", opts.BaseDir, err)
	}
	b := &Broker{opts: opts, java: java, libs: libs, dir: dir}
	if err := b.firstStart(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return b, nil
}

// firstStart picks ports, formats and launches, trying new ports if the
// picked ones were taken meanwhile. Ports are baked into the formatted
// storage (the controller's voter endpoint), so each try formats afresh.
func (b *Broker) firstStart(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.opts.StartTimeout)
	defer cancel()
	var err error
	for attempt := 0; attempt < startAttempts; attempt++ {
		if err = b.configure(ctx); err != nil {
			return err
		}
		if err = b.launch(ctx); err == nil || !errors.Is(err, errPortTaken) {
			return err
		}
	}
	return err
}

func (b *Broker) configure(ctx context.Context) error {
	var err error
	if b.port, err = localproc.FreePort(); err != nil {
		return err
	}
	if b.ctrlPort, err = localproc.FreePort(); err != nil {
		return err
	}
	if err := os.RemoveAll(b.dataDir()); err != nil {
		return fmt.Errorf("clear %s: %w", b.dataDir(), err)
	}
	props := serverProperties(b.dataDir(), b.port, b.ctrlPort, nil)
	if s := b.opts.Secured; s != nil {
		keystore := ""
		if s.CertFile != "" {
			if b.tlsPort, err = localproc.FreePort(); err != nil {
				return err
			}
			keystore = filepath.Join(b.dir, "keystore.pem")
			if err := s.writeKeystore(keystore); err != nil {
				return err
			}
		}
		maps.Copy(props, s.properties(b.port, b.tlsPort, b.ctrlPort, keystore))
	}
	maps.Copy(props, b.opts.Properties)
	if err := writeProperties(b.propsPath(), props); err != nil {
		return err
	}
	if err := os.WriteFile(b.log4jPath(), []byte(log4j2Config), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", b.log4jPath(), err)
	}
	return b.format(ctx)
}

func (b *Broker) format(ctx context.Context) error {
	id, err := newClusterID()
	if err != nil {
		return err
	}
	logPath := filepath.Join(b.dir, "format.log")
	args := []string{"format", "--standalone", "-t", id, "-c", b.propsPath()}
	if b.opts.Secured != nil {
		args = append(args, b.opts.Secured.formatArgs()...)
	}
	p, err := startJava(b.java, b.javaArgs("kafka.tools.StorageTool", args...), b.dir, logPath)
	if err != nil {
		return err
	}
	if err := p.Wait(ctx); err != nil {
		return fmt.Errorf("format kafka storage in %s: %w\n--- format log tail ---\n%s", b.dataDir(), err, localproc.LogTail(logPath))
	}
	return nil
}

func (b *Broker) javaArgs(mainClass string, args ...string) []string {
	jvm := []string{
		"-Xmx" + b.opts.Heap, "-Xms64m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
		"-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
		"-Dkafka.logs.dir=" + b.dir, "-Dlog4j2.configurationFile=" + b.log4jPath(),
		"-cp", filepath.Join(b.libs, "*"), mainClass,
	}
	return append(jvm, args...)
}

var errPortTaken = errors.New("port already in use")

// launch starts the broker process and waits until it serves metadata.
func (b *Broker) launch(ctx context.Context) error {
	p, err := startJava(b.java, b.javaArgs("kafka.Kafka", b.propsPath()), b.dir, b.stdoutPath())
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.proc = p
	b.mu.Unlock()
	if err := waitReady(ctx, b.Addr(), p, b.opts.Secured.clientOpts()...); err != nil {
		_ = p.Kill()
		return b.startError(err)
	}
	return nil
}

// waitReady polls with a real client until the broker lists itself in a
// metadata response, the JVM exits, or ctx ends.
func waitReady(ctx context.Context, addr string, p *localproc.Process, opts ...kgo.Opt) error {
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(addr), kgo.RequestRetries(0))...)
	if err != nil {
		return fmt.Errorf("create readiness client: %w", err)
	}
	defer cl.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := metadataOnce(ctx, cl)
		if err == nil {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("broker exited during startup: %v", p.Err())
		case <-ctx.Done():
			return fmt.Errorf("broker not ready: %w (last attempt: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func metadataOnce(ctx context.Context, cl *kgo.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	if len(resp.Brokers) == 0 {
		return errors.New("metadata lists no brokers yet")
	}
	return nil
}

func (b *Broker) startError(err error) error {
	tail := localproc.LogTail(filepath.Join(b.dir, "broker.log"))
	out := localproc.LogTail(b.stdoutPath())
	if strings.Contains(tail+out, "Address already in use") {
		err = fmt.Errorf("%w: %w", errPortTaken, err)
	}
	return fmt.Errorf("start kafka broker %s in %s: %w\n--- broker log tail ---\n%s\n--- broker stdout tail ---\n%s", b.Addr(), b.dir, err, tail, out)
}

// Addr is the broker's bootstrap address, host:port on 127.0.0.1.
func (b *Broker) Addr() string { return addr(b.port) }

// Dir is the broker's temporary directory: configuration, data/ and logs.
func (b *Broker) Dir() string { return b.dir }

// Kill ends the broker with SIGKILL, as a crash would, keeping its port and
// data for Restart.
func (b *Broker) Kill() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc == nil {
		return nil
	}
	return b.proc.Kill()
}

// Restart starts the broker again on the same port and log dirs, first
// shutting it down cleanly if it is still running, and returns once it
// serves metadata.
func (b *Broker) Restart(ctx context.Context) error {
	b.mu.Lock()
	if b.removed {
		b.mu.Unlock()
		return errors.New("restart kafka broker: already stopped and removed")
	}
	p := b.proc
	b.mu.Unlock()
	if p != nil && p.Running() {
		if err := p.Stop(stopStep); err != nil {
			return fmt.Errorf("restart kafka broker %s: stop: %w", b.Addr(), err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.StartTimeout)
	defer cancel()
	return b.launch(ctx)
}

// Stop shuts the broker down (SIGTERM, then SIGKILL after a grace period)
// and removes its directory. It is safe to call more than once.
func (b *Broker) Stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.removed {
		return nil
	}
	b.removed = true
	var err error
	if b.proc != nil {
		err = b.proc.Stop(stopStep)
	}
	if rmErr := os.RemoveAll(b.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove broker directory %s: %w", b.dir, rmErr))
	}
	return err
}

func (b *Broker) dataDir() string    { return filepath.Join(b.dir, "data") }
func (b *Broker) propsPath() string  { return filepath.Join(b.dir, "server.properties") }
func (b *Broker) log4jPath() string  { return filepath.Join(b.dir, "log4j2.xml") }
func (b *Broker) stdoutPath() string { return filepath.Join(b.dir, "broker.out") }
