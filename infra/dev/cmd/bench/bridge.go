package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"hotline-bridge/infra/dev/localproc"
)

// target is one upstream, store and set of topics the bridge runs against.
type target struct {
	UpstreamURL, StoreURL, Brokers, Prefix string
}

// bridge runs the binary built for this bench, configured through its environment as an operator would.
type bridge struct {
	bin  string
	logs logs
	env  []string
}

// buildBridge builds the bridge from the module in the working directory, once, so that no run pays for
// compiling and every run measures the same binary.
func buildBridge(ctx context.Context, l logs) (string, error) {
	bin := filepath.Join(l.dir, "bridge")
	if err := l.run(ctx, "build", os.Environ(), "go", "build", "-o", bin, "."); err != nil {
		return "", err
	}
	return bin, nil
}

func newBridge(bin string, l logs, t target) bridge {
	env := append(os.Environ(),
		"BRIDGE_UPSTREAM_URL="+t.UpstreamURL, "BRIDGE_STORE_URL="+t.StoreURL,
		"BRIDGE_KAFKA_BROKERS="+t.Brokers, "BRIDGE_TOPIC_PREFIX="+t.Prefix, "BRIDGE_LOG_LEVEL=info")
	return bridge{bin: bin, logs: l, env: env}
}

// seedUpstream creates the reference national tables and fills them with registrations and their families.
func (b bridge) seedUpstream(ctx context.Context, step string, registrations int) error {
	if err := b.logs.run(ctx, step, b.env, b.bin, "migrate", "--upstream"); err != nil {
		return err
	}
	return b.logs.run(ctx, step, b.env, b.bin, "seed", "--registrations", strconv.Itoa(registrations))
}

// changedTotal matches the total of the last Stats in the seeder's summary line: "changed" comes after
// "generated".
var changedTotal = regexp.MustCompile(`total=(\d+)`)

// change runs the seeder's live-platform changes and returns how many rows they wrote.
func (b bridge) change(ctx context.Context, step string, seed, rounds, batch int) (int, error) {
	err := b.logs.run(ctx, step, b.env, b.bin, "seed", "--changes-only", "--seed", strconv.Itoa(seed),
		"--rounds", strconv.Itoa(rounds), "--change-batch", strconv.Itoa(batch))
	if err != nil {
		return 0, err
	}
	return lastChangedTotal(b.logs.path(step))
}

func lastChangedTotal(path string) (int, error) {
	lines := strings.Split(localproc.LogTail(path), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if !strings.Contains(lines[i], "seeded national upstream") {
			continue
		}
		if m := changedTotal.FindAllStringSubmatch(lines[i], -1); len(m) > 0 {
			return strconv.Atoi(m[len(m)-1][1])
		}
	}
	return 0, fmt.Errorf("no change summary in %s", path)
}

// timeBin is GNU time, which reports a child's peak RSS (%M); Debian package time installs it.
const timeBin = "/usr/bin/time"

// stageLines are what the bridge logs as each stage of --until-idle finishes, in order.
var stageLines = []string{"capture caught up", "sorting caught up", "outbox drained", "audit trail complete"}

// idleRun is what one `bridge run --until-idle` took.
type idleRun struct {
	Wall      time.Duration
	Stages    []time.Duration // per stageLines, since start; zero if never logged
	PeakRSSKB int
	CPU       time.Duration // the bridge process's user and system time
}

// runUntilIdle runs the bridge to idle under /usr/bin/time for its peak RSS, timestamping the stage lines as
// they arrive on its stderr.
func (b bridge) runUntilIdle(ctx context.Context, step string) (idleRun, error) {
	f, path, err := b.logs.open(step)
	if err != nil {
		return idleRun{}, err
	}
	defer f.Close()
	rssPath := filepath.Join(b.logs.dir, step+".rss")
	cmd := command(ctx, b.env, timeBin, "-f", "%M %U %S", "-o", rssPath, b.bin, "run", "--until-idle")
	cmd.Stdout = f
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return idleRun{}, fmt.Errorf("%s: stderr pipe: %w", step, err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return idleRun{}, fmt.Errorf("%s: start bridge: %w", step, err)
	}
	run := idleRun{Stages: watchStages(stderr, f, start)}
	err = cmd.Wait()
	run.Wall = time.Since(start)
	if err != nil {
		return run, withLog(fmt.Errorf("%s: bridge run --until-idle: %w", step, err), path)
	}
	if err := allStages(run.Stages); err != nil {
		return run, withLog(fmt.Errorf("%s: bridge run --until-idle: %w", step, err), path)
	}
	run.PeakRSSKB, run.CPU, err = readTimeStats(rssPath)
	return run, err
}

// allStages refuses a run that exited without logging every stage: the bridge exits 0 also when a signal stops
// it, and a run cut short must not pass for a fast one.
func allStages(marks []time.Duration) error {
	for i, m := range marks {
		if m == 0 {
			return fmt.Errorf("exited without logging %q: stopped before idle", stageLines[i])
		}
	}
	return nil
}

// watchStages copies the bridge's log to w and notes when each stage line first arrives, until the log ends.
func watchStages(r io.Reader, w io.Writer, start time.Time) []time.Duration {
	marks := make([]time.Duration, len(stageLines))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		at := time.Since(start)
		line := sc.Text()
		fmt.Fprintln(w, line)
		for i, s := range stageLines {
			if marks[i] == 0 && strings.Contains(line, s) {
				marks[i] = at
			}
		}
	}
	// A read error means the bridge's stderr closed abnormally; Wait reports how it ended.
	_, _ = io.Copy(w, r)
	return marks
}

// readTimeStats reads /usr/bin/time's "%M %U %S" (peak RSS in KiB, user and system CPU seconds), the last line
// of its output file: a failed command has a status line before it.
func readTimeStats(path string) (rssKB int, cpu time.Duration, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read peak RSS and CPU time: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	last := lines[len(lines)-1]
	var user, system float64
	if _, err := fmt.Sscanf(last, "%d %f %f", &rssKB, &user, &system); err != nil {
		return 0, 0, fmt.Errorf("read peak RSS and CPU time from %s: %q: %w", path, last, err)
	}
	return rssKB, time.Duration((user + system) * float64(time.Second)), nil
}

// background is a `bridge run` that runs until stopped.
type background struct {
	cancel context.CancelFunc
	done   chan error
	log    string
}

// start runs the bridge continuously; stop ends it with SIGTERM (through the context, see command).
func (b bridge) start(ctx context.Context, step string) (*background, error) {
	f, path, err := b.logs.open(step)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := command(ctx, b.env, b.bin, "run")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		cancel()
		f.Close()
		return nil, fmt.Errorf("%s: start bridge: %w", step, err)
	}
	bg := &background{cancel: cancel, done: make(chan error, 1), log: path}
	go func() { bg.done <- cmd.Wait(); f.Close() }()
	return bg, nil
}

// exited reports a bridge that stopped on its own, which a steady-state measurement must not hide.
func (bg *background) exited() error {
	select {
	case err := <-bg.done:
		bg.done <- err
		return withLog(fmt.Errorf("bridge run stopped by itself: %v", err), bg.log)
	default:
		return nil
	}
}

// stop sends SIGTERM and waits for the bridge to shut down; a clean exit after the signal is success.
func (bg *background) stop() error {
	if err := bg.exited(); err != nil {
		return err
	}
	bg.cancel()
	err := <-bg.done
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	return withLog(fmt.Errorf("bridge run did not stop cleanly on SIGTERM: %w", err), bg.log)
}
