package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/infra/dev/testenv"
)

func TestCaptureRowsSharingOneUpdateTimeAcrossBatchesAndKills(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	// 60,000 rows stamped with one instant: a national batch import. Batches of 250 put hundreds of batch
	// boundaries, and the kills below, among rows that share an update_time.
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, status)
		SELECT 'REG-' || lpad(g::text, 6, '0'), '2026-03-15 08:00:00+08', 'NO' || g, 1, '01'
		FROM generate_series(1, 60000) g`)
	bin := buildBridge(t)
	env := bridgeEnvVars(e, "--batch-size=250")
	store := storeQuerier(t, e)

	for kill := 1; kill <= 3; kill++ {
		before := store.watermark(t, events.Registration)
		cmd := startBridge(t, bin, env, "run")
		testenv.WaitFor(t, "capture to make progress", 2*time.Minute, func() bool { return store.watermark(t, events.Registration) > before })
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		t.Logf("kill %d: watermark at %s", kill, store.watermark(t, events.Registration))
	}
	if wm := store.watermark(t, events.Registration); wm == "REG-060000" {
		t.Fatalf("every kill came after capture finished (watermark %s): the test proved nothing", wm)
	}
	out, err := exec.Command(bin, append([]string{"run", "--until-idle"}, env...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("bridge run --until-idle: %v\n%s", err, out)
	}
	if n := assertCurrentVersionsCaptured(t, e, events.Registration); n != 60000 {
		t.Fatalf("upstream has %d rows, want 60000", n)
	}
}

func TestCaptureRowCommittedLateWithinMaxCommitDelay(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	ctx := context.Background()
	// A transaction stamps its row two minutes ago but has not committed yet.
	late, err := e.upstream.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Rollback(ctx)
	if _, err := late.Exec(ctx, `INSERT INTO registration (id, update_time, reg_no) VALUES ('LATE', clock_timestamp() - interval '2 minutes', 'L1')`); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no) VALUES ('ON-TIME', clock_timestamp() - interval '1 minute', 'L2')`)
	e.runInBackground(t)
	testenv.WaitFor(t, "the on-time row on the capture topic", time.Minute, func() bool {
		return len(readCaptureTopic(t, e.cfg.KafkaBrokers, e.cfg.TopicPrefix, events.Registration)) == 1
	})
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the late-committed row on the capture topic", time.Minute, func() bool {
		_, ok := latest(readCaptureTopic(t, e.cfg.KafkaBrokers, e.cfg.TopicPrefix, events.Registration))["LATE"]
		return ok
	})
}

func TestCaptureEpochFutureAndSoftDeletedRows(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	e.exec(t, `INSERT INTO organization (id, update_time, name) VALUES
		('EPOCH', '1970-01-01 00:00:00+00', 'epoch'),
		('BEFORE-EPOCH', '1900-01-01 00:00:00+00', 'older still'),
		('FUTURE', '2099-12-31 23:59:59+00', 'future'),
		('NOW', clock_timestamp() - interval '1 hour', 'now')`)
	e.runUntilIdle(t)
	// After the future row was seen, ordinary rows must still flow, and a soft delete is a new version.
	e.exec(t, `INSERT INTO organization (id, update_time, name) VALUES ('AFTER', clock_timestamp() - interval '10 minutes', 'after')`)
	e.exec(t, `UPDATE organization SET is_deleted = true, update_time = clock_timestamp() - interval '9 minutes' WHERE id = 'NOW'`)
	e.runUntilIdle(t)
	got := latest(readCaptureTopic(t, e.cfg.KafkaBrokers, e.cfg.TopicPrefix, events.Organization))
	assertCurrentVersionsCaptured(t, e, events.Organization)
	if got["NOW"].Row["is_deleted"] != true {
		t.Fatalf("soft delete not captured: %v", got["NOW"].Row)
	}
	if got["FUTURE"].Row["update_time"] != "2099-12-31T23:59:59+00:00" {
		t.Fatalf("future row carried as %v", got["FUTURE"].Row["update_time"])
	}
}

func TestCaptureSurvivesBrokerOutage(t *testing.T) {
	t.Parallel()
	broker := testenv.OwnKafka(t)
	e := newBridgeEnv(t, []string{broker.Addr()})
	store := storeQuerier(t, e)
	e.exec(t, `INSERT INTO personnel (id, update_time, org_id) SELECT 'P' || g, clock_timestamp() - interval '1 hour', 'ORG-420106' FROM generate_series(1, 100) g`)
	logs := e.runInBackground(t)
	settled := newestRowID(t, e, events.Personnel)
	testenv.WaitFor(t, "the first rows captured and the watermark on the last of them", time.Minute, func() bool {
		return store.watermark(t, events.Personnel) == settled
	})
	if err := broker.Kill(); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `INSERT INTO personnel (id, update_time, org_id) SELECT 'Q' || g, clock_timestamp() - interval '30 minutes', 'ORG-420106' FROM generate_series(1, 100) g`)
	// The outage itself: capture rounds that read the new rows and fail to publish them to the dead broker (a round
	// that finds nothing new publishes nothing), none of which may move the watermark.
	failedRounds := func() int {
		return countLines(logs.String(), "capture round failed", "table=personnel", broker.Addr())
	}
	before := failedRounds()
	failed := func() int { return failedRounds() - before }
	testenv.WaitFor(t, "two capture rounds of personnel failing against the dead broker", 2*time.Minute, func() bool {
		if wm := store.watermark(t, events.Personnel); wm != settled {
			t.Fatalf("the watermark moved from %s to %s while the broker was down", settled, wm)
		}
		return failed() >= 2
	})
	t.Logf("%d failed rounds during the outage, e.g.\n%s", failed(), firstLine(logs.String(), "capture round failed", "table=personnel", broker.Addr()))
	if err := broker.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "rows written during the outage captured", 2*time.Minute, func() bool {
		return len(latest(readCaptureTopic(t, e.cfg.KafkaBrokers, e.cfg.TopicPrefix, events.Personnel))) == 200
	})
	assertCurrentVersionsCaptured(t, e, events.Personnel)
}

func TestCaptureSurvivesUpstreamOutage(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	store := storeQuerier(t, e)
	proxy := testenv.NewProxy(t, hostPort(t, e.cfg.UpstreamURL))
	e.cfg.UpstreamURL = strings.Replace(e.cfg.UpstreamURL, hostPort(t, e.cfg.UpstreamURL), proxy.Addr(), 1)
	e.exec(t, `INSERT INTO subject (id, update_time, registration_id) SELECT 'S' || g, clock_timestamp() - interval '1 hour', 'R' || g FROM generate_series(1, 50) g`)
	logs := e.runInBackground(t)
	settled := newestRowID(t, e, events.Subject)
	testenv.WaitFor(t, "the first rows captured and the watermark on the last of them", time.Minute, func() bool {
		return store.watermark(t, events.Subject) == settled
	})
	proxy.Cut()
	e.exec(t, `INSERT INTO subject (id, update_time, registration_id) SELECT 'T' || g, clock_timestamp() - interval '30 minutes', 'R' || g FROM generate_series(1, 50) g`)
	// The outage itself: capture rounds that cannot connect to the upstream through the cut proxy (the first one
	// may only see its connection drop), none of which may move the watermark.
	failedRounds := func() int {
		return countLines(logs.String(), "capture round failed", "table=subject", proxy.Addr())
	}
	before := failedRounds()
	failed := func() int { return failedRounds() - before }
	testenv.WaitFor(t, "two capture rounds of subject failing against the cut upstream", 2*time.Minute, func() bool {
		if wm := store.watermark(t, events.Subject); wm != settled {
			t.Fatalf("the watermark moved from %s to %s while the upstream was unreachable", settled, wm)
		}
		return failed() >= 2
	})
	t.Logf("%d failed rounds during the outage, e.g.\n%s", failed(), firstLine(logs.String(), "capture round failed", "table=subject", proxy.Addr()))
	proxy.Restore()
	testenv.WaitFor(t, "rows written during the outage captured", 2*time.Minute, func() bool {
		return len(latest(readCaptureTopic(t, e.cfg.KafkaBrokers, e.cfg.TopicPrefix, events.Subject))) == 100
	})
	assertCurrentVersionsCaptured(t, e, events.Subject)
}

// newestRowID is the id of a table's last upstream row in capture order, where its watermark ends once captured.
func newestRowID(t *testing.T, e *bridgeEnv, table string) string {
	t.Helper()
	var id string
	if err := e.upstream.QueryRow(context.Background(), `SELECT id FROM `+table+` ORDER BY update_time DESC, id DESC LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// countLines counts the lines of logs that contain every one of parts.
func countLines(logs string, parts ...string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if containsAll(line, parts...) {
			n++
		}
	}
	return n
}

func firstLine(logs string, parts ...string) string {
	for _, line := range strings.Split(logs, "\n") {
		if containsAll(line, parts...) {
			return line
		}
	}
	return ""
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

var (
	buildOnce sync.Once
	bridgeBin string
	buildErr  error
)

// buildBridge compiles the bridge binary once per test process, for tests that must kill a real process.
func buildBridge(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bridge-bin")
		if err != nil {
			buildErr = err
			return
		}
		bridgeBin = filepath.Join(dir, "bridge")
		out, err := exec.Command("go", "build", "-o", bridgeBin, "hotline-bridge").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bridgeBin
}

func bridgeEnvVars(e *bridgeEnv, extra ...string) []string {
	return append([]string{
		"--upstream-url=" + e.cfg.UpstreamURL, "--store-url=" + e.cfg.StoreURL,
		"--kafka-brokers=" + strings.Join(e.cfg.KafkaBrokers, ","), "--topic-prefix=" + e.cfg.TopicPrefix,
		"--poll-interval=50ms", "--log-level=warn", "--http-addr=127.0.0.1:0",
	}, extra...)
}

func startBridge(t *testing.T, bin string, flags []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append(args, flags...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd
}
