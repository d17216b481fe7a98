package localpg

import (
	"fmt"
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

// command runs name as the server's user, in the C locale.
func (r *runAs) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	if r != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: r.uid, Gid: r.gid}}
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	return cmd
}
