package localproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// CacheDirEnv overrides where downloaded and built tools are kept (the Kafka jars, the Jaeger binary).
const CacheDirEnv = "BRIDGE_CACHE_DIR"

// CacheRoot picks the cache root: explicit, $BRIDGE_CACHE_DIR, the module
// root's .cache, or the user cache directory.
func CacheRoot(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if env := os.Getenv(CacheDirEnv); env != "" {
		return env, nil
	}
	if root, ok := ModuleRoot(); ok {
		return filepath.Join(root, ".cache"), nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a cache directory (set %s): %w", CacheDirEnv, err)
	}
	return filepath.Join(dir, "hotline-bridge"), nil
}

// ModuleRoot walks up from the working directory (a package directory
// under go test) to the directory holding go.mod.
func ModuleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// LockFile takes an exclusive flock on path, polling so ctx can end the wait.
func LockFile(ctx context.Context, path, holder string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s (%s): %w", path, holder, ctx.Err())
		case <-tick.C:
		}
	}
}
