package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"hotline-bridge/infra/postgres"
)

// pgTools are pg_dump and pg_restore of one directory, at least as new as the server (pg_dump refuses newer
// servers, and an older pg_restore cannot read a newer dump).
type pgTools struct {
	dir, version string
}

// findPGTools looks in pg_bin_dir when it is set, else in Debian's directory of the server's major version
// (/usr/lib/postgresql/15/bin, as infra/dev/localpg finds the cluster's binaries), else on PATH.
func findPGTools(binDir string, serverVersionNum int) (pgTools, error) {
	major := serverVersionNum / 10000
	var candidates []string
	if binDir != "" {
		candidates = []string{binDir}
	} else {
		candidates = []string{fmt.Sprintf("/usr/lib/postgresql/%d/bin", major)}
		if p, err := exec.LookPath("pg_dump"); err == nil {
			candidates = append(candidates, filepath.Dir(p))
		}
	}
	var errs []error
	for _, dir := range candidates {
		out, err := exec.Command(filepath.Join(dir, "pg_dump"), "--version").Output()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s/pg_dump: %w", dir, err))
			continue
		}
		version := strings.TrimSpace(string(out))
		var toolMajor int
		if fields := strings.Fields(version); len(fields) > 0 {
			_, _ = fmt.Sscanf(fields[len(fields)-1], "%d", &toolMajor)
		}
		if toolMajor < major {
			errs = append(errs, fmt.Errorf("%s/pg_dump is %q, older than the server's major version %d", dir, version, major))
			continue
		}
		return pgTools{dir: dir, version: version}, nil
	}
	return pgTools{}, fmt.Errorf("find pg_dump and pg_restore for PostgreSQL %d (set pg_bin_dir, or install postgresql-client-%d): %w",
		major, major, errors.Join(errs...))
}

// run runs a tool against the database at rawURL. The password goes in PGPASSWORD, never on the command line
// where any user of the machine could read it; pgx's own pool parameters are left out, libpq knows none of them.
func (t pgTools) run(ctx context.Context, tool, rawURL string, args ...string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%s: parse the database url %s: %w", tool, postgres.Redact(rawURL), err)
	}
	env := os.Environ()
	if pass, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pass)
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for key := range maps.Keys(q) {
		if strings.HasPrefix(key, "pool_") {
			q.Del(key)
		}
	}
	u.RawQuery = q.Encode()
	cmd := exec.CommandContext(ctx, filepath.Join(t.dir, tool), append(args, "--dbname="+u.String())...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s into/from %s: %w: %s", tool, postgres.Redact(rawURL), err, lastLines(string(out), 10))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
