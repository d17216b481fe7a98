package localproc

import (
	"fmt"
	"net"
)

// FreePort asks the kernel for a loopback port that is free right now; a server started on it may still find it
// taken, so callers retry with a new one.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
