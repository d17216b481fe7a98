package localjaeger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"hotline-bridge/infra/dev/localproc"
)

// Package is the Jaeger v2 command that tools/jaeger.mod pins.
const Package = "github.com/jaegertracing/jaeger/cmd/jaeger"

// ModFile and SumFile pin Jaeger's version and its dependencies, relative to the module root.
const (
	ModFile = "tools/jaeger.mod"
	SumFile = "tools/jaeger.sum"
)

// Binary returns the path of the Jaeger binary that tools/jaeger.mod pins, building it on first use (about five
// minutes on two cores) into the cache, under a directory named by the hash of the mod and sum files: changing the
// version builds anew, nothing else does. A file lock keeps concurrent test binaries from building twice.
func Binary(ctx context.Context) (string, error) {
	root, ok := localproc.ModuleRoot()
	if !ok {
		return "", errors.New("jaeger: no go.mod above the working directory, so no " + ModFile)
	}
	key, err := modHash(root)
	if err != nil {
		return "", err
	}
	cache, err := localproc.CacheRoot("")
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "jaeger", key)
	bin := filepath.Join(dir, "jaeger")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create jaeger cache %s: %w", dir, err)
	}
	unlock, err := localproc.LockFile(ctx, filepath.Join(dir, ".lock"), "another process is building jaeger")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // built by another process while we waited
	}
	return bin, build(ctx, root, dir, bin)
}

// build compiles into a temporary name and renames it, so a half-written binary is never taken for a built one.
func build(ctx context.Context, root, dir, bin string) error {
	logPath := filepath.Join(dir, "build.log")
	out, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create %s: %w", logPath, err)
	}
	defer out.Close()
	tmp := bin + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-modfile="+ModFile, "-trimpath", "-o", tmp, Package)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, out, out
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s from %s: %w\n--- %s tail ---\n%s", Package, ModFile, err, logPath, localproc.LogTail(logPath))
	}
	if err := os.Rename(tmp, bin); err != nil {
		return fmt.Errorf("install jaeger binary: %w", err)
	}
	return nil
}

func modHash(root string) (string, error) {
	h := sha256.New()
	for _, name := range []string{ModFile, SumFile} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			return "", fmt.Errorf("jaeger: %w", err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}
