package pipeline_test

import (
	"context"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"hotline-bridge/infra/dev/testenv"
)

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestUnreachableDatabaseAndBrokerAreReportedWithAddressAndRetried(t *testing.T) {
	t.Parallel()
	bin := buildBridge(t)
	dbAddr, brokerAddr := closedPort(t), closedPort(t)
	cases := map[string]struct {
		flags []string
		want  string
		addr  string
	}{
		"database": {[]string{"--store-url=postgres://bridge:hunter2@" + dbAddr + "/wuhan", "--kafka-brokers=" + brokerAddr},
			"cannot reach store database", dbAddr},
		"broker": {[]string{"--store-url=" + testenv.Postgres(t), "--kafka-brokers=" + brokerAddr},
			"cannot reach kafka", brokerAddr},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			stderr := &testenv.SyncBuffer{}
			cmd := exec.Command(bin, append([]string{"run", "--upstream-url=" + testenv.Postgres(t), "--http-addr=127.0.0.1:0"}, c.flags...)...)
			cmd.Stderr = stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() { _ = cmd.Process.Kill(); <-exited }()
			stillRetrying := func() {
				select {
				case err := <-exited:
					exited <- err
					t.Fatalf("the bridge exited (%v) instead of retrying:\n%s", err, stderr)
				default:
				}
			}
			// A third report shows the bridge still retrying after the second; an exit before it fails the test at once.
			testenv.WaitFor(t, "three reports of the outage", time.Minute, func() bool {
				stillRetrying()
				return stderr.Count(c.want) >= 3
			})
			out := stderr.String()
			if !strings.Contains(out, c.addr) || strings.Contains(out, "hunter2") || strings.Contains(out, "goroutine ") {
				t.Fatalf("the report must name %s, hide the password and show no stack trace:\n%s", c.addr, out)
			}
		})
	}
}

// A database that does not exist, or a role the server does not know, is a setting to fix: the bridge says so
// and stops, rather than retrying as if the server were down.
func TestAMissingDatabaseOrRoleIsReportedAtOnceNotRetried(t *testing.T) {
	t.Parallel()
	bin := buildBridge(t)
	store, err := url.Parse(testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	noDatabase, noRole := *store, *store
	noDatabase.Path = "/no_such_database"
	noRole.User = url.UserPassword("no_such_role", "hunter2")
	cases := map[string]struct{ url, want string }{
		"database": {noDatabase.String(), `database "no_such_database" does not exist`},
		"role":     {noRole.String(), `role "no_such_role" does not exist`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "run", "--upstream-url="+testenv.Postgres(t), "--store-url="+c.url,
				"--kafka-brokers="+closedPort(t), "--http-addr=127.0.0.1:0")
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("the bridge kept retrying a refusal that waiting cannot mend:\n%s", out)
			}
			text := string(out)
			if err == nil || !strings.Contains(text, "store database refused the bridge") || !strings.Contains(text, c.want) {
				t.Fatalf("want an exit that names the store database and says %q, got %v:\n%s", c.want, err, text)
			}
			if strings.Contains(text, "retrying") || strings.Contains(text, "hunter2") {
				t.Fatalf("a refusal must be reported once, without the password:\n%s", text)
			}
		})
	}
}
