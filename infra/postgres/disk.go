package postgres

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// sameCluster proves that dataDir, read on this machine, is the data directory of the server with system
// identifier id: the first field of global/pg_control is that identifier, in the server's byte order (this
// machine's, if it is the same server). A data directory of another machine that happens to have the same path
// fails here, as does one this process may not read.
func sameCluster(dataDir string, id uint64) error {
	f, err := os.Open(filepath.Join(dataDir, "global", "pg_control"))
	if err != nil {
		return fmt.Errorf("unknown: the data directory %s is not readable on this machine (the store is elsewhere, or this user may not read it): %w", dataDir, err)
	}
	defer func() { _ = f.Close() }()
	var local uint64
	if err := binary.Read(f, binary.NativeEndian, &local); err != nil {
		return fmt.Errorf("unknown: read %s/global/pg_control: %w", dataDir, err)
	}
	if local != id {
		return fmt.Errorf("unknown: %s on this machine belongs to another cluster (system identifier %d, the store's is %d)", dataDir, local, id)
	}
	return nil
}

// statfs is the free space (available to unprivileged users, as PostgreSQL itself sees it) and size of the file
// system holding path.
func statfs(path string) (free, total int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("unknown: statfs %s: %w", path, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), nil
}
