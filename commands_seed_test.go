package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"hotline-bridge/infra/dev/testenv"
)

// bridgeLogged runs the root command with args and returns what it wrote to stderr, its logs.
func bridgeLogged(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out, logs bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&logs)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return logs.String(), err
}

// bridge seed reports what it generated once it has, and a seed that failed says so instead of claiming it
// seeded nothing: an operator reading "seeded national upstream total=0" would look for the fault elsewhere.
func TestSeedReportsWhatItGeneratedAndNeverASeedThatFailed(t *testing.T) {
	upstream := testenv.Postgres(t)
	logs, err := bridgeLogged(t, "seed", "--registrations", "50", "--upstream-url", upstream, "--log-format", "text")
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, logs)
	}
	if !strings.Contains(logs, "seeded national upstream") || !strings.Contains(logs, "registration=50 ") {
		t.Fatalf("seed logs:\n%s\nwant the line saying it seeded 50 registrations", logs)
	}

	missing, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	missing.Path = "/no_such_upstream"
	logs, err = bridgeLogged(t, "seed", "--registrations", "50", "--upstream-url", missing.String(), "--log-format", "text")
	if err == nil || !strings.Contains(err.Error(), "no_such_upstream") {
		t.Fatalf("seeding a database that does not exist: %v, want an error naming it", err)
	}
	if strings.Contains(logs, "seeded national upstream") {
		t.Fatalf("a seed that failed logged:\n%s\nwant no line saying it seeded", logs)
	}
}
