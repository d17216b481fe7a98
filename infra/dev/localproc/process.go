package localproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Process is one run of a child process; exited is closed once it has been reaped.
type Process struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // valid once exited is closed
}

// killWait bounds the wait after SIGKILL: only a process stuck in the kernel survives it that long.
const killWait = 5 * time.Second

// Start starts cmd with its stdout and stderr appended to logPath. If this process dies without stopping the
// child, the kernel sends the child parentDeath (Linux); cmd.SysProcAttr's other fields, such as Credential, are
// kept.
func Start(cmd *exec.Cmd, logPath string, parentDeath syscall.Signal) (*Process, error) {
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", logPath, err)
	}
	defer out.Close() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = parentDeath
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// Exited is closed once the process has exited and been reaped.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is how the process ended, as exec.Cmd.Wait reports it; valid once Exited is closed.
func (p *Process) Err() error { return p.waitErr }

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Wait blocks until the process exits and returns how it ended; if ctx ends first it kills the process and
// returns ctx's error.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.exited:
		return p.waitErr
	case <-ctx.Done():
		_ = p.Kill()
		return ctx.Err()
	}
}

// Step is one stage of Stop: send Signal, then give the process Grace to exit.
type Step struct {
	Signal syscall.Signal
	Grace  time.Duration
}

// Stop sends each step's signal in turn until the process exits, then SIGKILL. It returns once the process has
// been reaped, or with an error if it survives even SIGKILL.
func (p *Process) Stop(steps ...Step) error {
	for _, s := range steps {
		if err := p.signal(s.Signal); err != nil {
			return err
		}
		select {
		case <-p.exited:
			return nil
		case <-time.After(s.Grace):
		}
	}
	return p.Kill()
}

// Kill ends the process with SIGKILL, as a crash would, and waits until it has been reaped.
func (p *Process) Kill() error {
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("%s (pid %d) did not exit %s after SIGKILL", p.name(), p.cmd.Process.Pid, killWait)
	}
}

func (p *Process) signal(sig syscall.Signal) error {
	err := p.cmd.Process.Signal(sig)
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s (pid %d) with %s: %w", p.name(), p.cmd.Process.Pid, sig, err)
	}
	return nil
}

func (p *Process) name() string { return filepath.Base(p.cmd.Path) }
