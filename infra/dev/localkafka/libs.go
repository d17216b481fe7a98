package localkafka

import (
	"context"
	_ "embed"
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

//go:embed pom.xml
var pomTemplate string

//go:embed tools-pom.xml
var toolsPomTemplate string

// ResolveLibs makes sure the broker jars of opts.Version are in the cache
// and returns their directory. The download runs once: a stamp file marks
// a complete one, a file lock keeps concurrent test binaries from racing.
func ResolveLibs(ctx context.Context, opts Options) (string, error) {
	return resolve(ctx, opts, "libs", pomTemplate)
}

// ResolveTools is ResolveLibs for Kafka's command-line tools (org.apache.kafka:kafka-tools), in a directory of
// their own so that the broker's cache stays as it was.
func ResolveTools(ctx context.Context, opts Options) (string, error) {
	return resolve(ctx, opts, "tools", toolsPomTemplate)
}

func resolve(ctx context.Context, opts Options, name, pomTemplate string) (string, error) {
	opts.setDefaults()
	root, err := cacheRoot(opts.CacheDir)
	if err != nil {
		return "", err
	}
	verDir := filepath.Join(root, "kafka", opts.Version)
	libs, stamp := filepath.Join(verDir, name), filepath.Join(verDir, name+".complete")
	if _, err := os.Stat(stamp); err == nil {
		return libs, nil
	}
	if err := os.MkdirAll(verDir, 0o755); err != nil {
		return "", fmt.Errorf("create kafka cache %s: %w", verDir, err)
	}
	unlock, err := lockFile(ctx, filepath.Join(verDir, "."+name+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(stamp); err == nil {
		return libs, nil // another process finished while we waited
	}
	ctx, cancel := context.WithTimeout(ctx, opts.ResolveTimeout)
	defer cancel()
	if err := download(ctx, verDir, libs, opts.Version, name, pomTemplate); err != nil {
		return "", err
	}
	if err := os.WriteFile(stamp, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("mark kafka %s jars complete: %w", opts.Version, err)
	}
	return libs, nil
}

func download(ctx context.Context, verDir, libs, version, name, pomTemplate string) error {
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return fmt.Errorf("resolve kafka %s jars: mvn not on PATH (install Maven, e.g. apt-get install maven): %w", version, err)
	}
	if err := os.RemoveAll(libs); err != nil { // a half-finished earlier try
		return fmt.Errorf("clear %s: %w", libs, err)
	}
	pom := filepath.Join(verDir, name+"-pom.xml")
	if err := os.WriteFile(pom, []byte(strings.ReplaceAll(pomTemplate, "@KAFKA_VERSION@", version)), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", pom, err)
	}
	logPath := filepath.Join(verDir, name+"-mvn.log")
	out, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create %s: %w", logPath, err)
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, mvn, "-B", "-q", "-Dstyle.color=never", "-f", pom,
		"dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory="+libs)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("resolve kafka %s %s with mvn: %w\n--- %s tail ---\n%s", name, version, err, logPath, localproc.LogTail(logPath))
	}
	return nil
}

// cacheRoot picks the cache root: explicit, $BRIDGE_CACHE_DIR, the module
// root's .cache, or the user cache directory.
func cacheRoot(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if env := os.Getenv(CacheDirEnv); env != "" {
		return env, nil
	}
	if root, ok := moduleRoot(); ok {
		return filepath.Join(root, ".cache"), nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a cache directory (set %s): %w", CacheDirEnv, err)
	}
	return filepath.Join(dir, "hotline-bridge"), nil
}

// moduleRoot walks up from the working directory (a package directory
// under go test) to the directory holding go.mod.
func moduleRoot() (string, bool) {
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

// lockFile takes an exclusive flock on path, polling so ctx can end the wait.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
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
			return nil, fmt.Errorf("wait for lock %s (another process is downloading kafka): %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}
