package localpg

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// runAs is the identity the server runs under: nil means the caller's own.
type runAs struct {
	uid, gid uint32
}

// serverIdentity returns who must own the data directory and run the
// server: the postgres user when we are root, since initdb and postgres
// refuse to run as root.
func serverIdentity() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres system user: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse uid %q of user postgres: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse gid %q of user postgres: %w", u.Gid, err)
	}
	return &runAs{uid: uint32(uid), gid: uint32(gid)}, nil
}

// chown gives path to the server's user; a no-op when not root.
func (r *runAs) chown(path string) error {
	if r == nil {
		return nil
	}
	return os.Chown(path, int(r.uid), int(r.gid))
}

// sysProcAttr runs a command as the server's user. The death signal makes
// the postmaster shut down immediately if the test process dies without
// calling Stop, so no server outlives its owner.
func (r *runAs) sysProcAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if r != nil {
		attr.Credential = &syscall.Credential{Uid: r.uid, Gid: r.gid}
	}
	return attr
}

func (r *runAs) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = r.sysProcAttr()
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	return cmd
}

// freePort asks the kernel for a port that is free right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// logTail returns the last lines of a log file, for error messages.
func logTail(path string) string {
	const maxBytes, maxLines = 4096, 25
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
