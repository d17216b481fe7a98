package localkafka

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	root, err := localproc.CacheRoot(opts.CacheDir)
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
	unlock, err := localproc.LockFile(ctx, filepath.Join(verDir, "."+name+".lock"), "another process is downloading kafka "+name)
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
