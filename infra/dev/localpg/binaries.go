package localpg

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// preferredMajor is the server version the project targets; another
// installed major version is used only when this one is missing.
const preferredMajor = 15

// findBinDir returns the directory that holds initdb and postgres.
func findBinDir(explicit string) (string, error) {
	if explicit != "" {
		return checkBinDir(explicit)
	}
	var tried []string
	for _, dir := range candidateBinDirs() {
		if ok, err := checkBinDir(dir); err == nil {
			return ok, nil
		}
		tried = append(tried, dir)
	}
	return "", fmt.Errorf("find PostgreSQL binaries (initdb, postgres): none in %s; set Options.BinDir", strings.Join(tried, ", "))
}

// candidateBinDirs lists where PostgreSQL may live, best first: Debian's
// versioned directories (preferred major, then newest), pg_config's answer,
// then whatever initdb on PATH links to.
func candidateBinDirs() []string {
	dirs := debianBinDirs()
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	return dirs
}

func debianBinDirs() []string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	major := func(dir string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		if n == preferredMajor {
			return 1 << 30
		}
		return n
	}
	sort.Slice(matches, func(i, j int) bool { return major(matches[i]) > major(matches[j]) })
	return matches
}

func checkBinDir(dir string) (string, error) {
	var errs []error
	for _, name := range []string{"initdb", "postgres"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			errs = append(errs, fmt.Errorf("%s: not an executable", p))
		}
	}
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	return dir, nil
}
