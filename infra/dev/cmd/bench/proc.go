package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"hotline-bridge/infra/dev/localproc"
)

// stopGrace is how long a stopped command may take to shut down before it is killed.
const stopGrace = 20 * time.Second

// command runs in its own process group, so that when ctx ends (an error, Ctrl-C) SIGTERM reaches what it
// started too — the bridge under /usr/bin/time, which itself ignores SIGINT — and the bridge shuts down cleanly.
func command(ctx context.Context, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	// Pdeathsig: a bench that dies without cleaning up still takes its direct children with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return terminate(cmd) }
	cmd.WaitDelay = stopGrace
	return cmd
}

// terminate sends SIGTERM to the command's process group.
func terminate(cmd *exec.Cmd) error {
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
}

// logs keeps each command's output in a file of the work directory, so a failure can show its tail.
type logs struct{ dir string }

// path is the log file of one step.
func (l logs) path(step string) string { return filepath.Join(l.dir, step+".log") }

// open creates (or appends to) the log file of one step.
func (l logs) open(step string) (*os.File, string, error) {
	path := l.path(step)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, "", fmt.Errorf("open log %s: %w", path, err)
	}
	return f, path, nil
}

// run runs a command to its end with its output in the step's log; the error carries the log's tail.
func (l logs) run(ctx context.Context, step string, env []string, name string, args ...string) error {
	f, path, err := l.open(step)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := command(ctx, env, name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		return withLog(fmt.Errorf("%s: %s %s: %w", step, filepath.Base(name), strings.Join(args, " "), err), path)
	}
	return nil
}

// withLog appends the tail of a log to an error, so a failure says why without opening files.
func withLog(err error, path string) error {
	return fmt.Errorf("%w\n--- %s ---\n%s", err, path, localproc.LogTail(path))
}

// wait waits for every command of a pipeline, naming the ones that failed.
func wait(cmds ...*exec.Cmd) error {
	var errs []error
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(c.Path), err))
		}
	}
	return errors.Join(errs...)
}

// progress tells the person waiting what the bench is doing; results go to stdout, this to stderr.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
