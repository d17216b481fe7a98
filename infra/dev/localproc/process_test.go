package localproc_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hotline-bridge/infra/dev/localproc"
)

// stubborn ignores SIGTERM, as a hung server would, after logging that it started.
func stubborn(t *testing.T) (*localproc.Process, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "child.log")
	cmd := exec.Command("sh", "-c", `trap "" TERM; echo started; while :; do sleep 0.05; done`)
	p, err := localproc.Start(cmd, logPath, syscall.SIGKILL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Kill() })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(localproc.LogTail(logPath), "started") {
		if time.Now().After(deadline) {
			t.Fatalf("child never logged: %s", localproc.LogTail(logPath))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return p, logPath
}

func TestStopEscalatesToKillAfterTheGrace(t *testing.T) {
	p, _ := stubborn(t)
	start := time.Now()
	if err := p.Stop(localproc.Step{Signal: syscall.SIGTERM, Grace: 200 * time.Millisecond}); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if p.Running() {
		t.Fatal("still running after Stop returned")
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("Stop returned after %s: the child ignores SIGTERM, so it must have waited the grace", took)
	}
	var exit *exec.ExitError
	if !errors.As(p.Err(), &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", p.Err())
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestWaitKillsTheChildWhenCtxEnds(t *testing.T) {
	p, _ := stubborn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want the deadline", err)
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("child still running after Wait gave up")
	}
}

func TestWaitReportsTheExitAndLogTailKeepsTheLastLines(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "child.log")
	cmd := exec.Command("sh", "-c", `for i in $(seq 1 100); do echo line $i; done; echo oops >&2; exit 3`)
	p, err := localproc.Start(cmd, logPath, syscall.SIGKILL)
	if err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := p.Wait(context.Background()); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}
	tail := strings.Split(localproc.LogTail(logPath), "\n")
	if len(tail) != 30 || tail[0] != "line 72" || tail[29] != "oops" {
		t.Fatalf("log tail has %d lines, %q … %q; want the last 30, stdout and stderr", len(tail), tail[0], tail[len(tail)-1])
	}
}

func TestFreePortCanBeListenedOn(t *testing.T) {
	port, err := localproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen on the free port %d: %v", port, err)
	}
	_ = l.Close()
}
