package localpg_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/infra/dev/localpg"
)

func TestClusterLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			c.Stop()
		}
	}()

	dbURL, err := c.CreateDatabase(ctx, "lifecycle_db")
	if err != nil {
		t.Fatal(err)
	}
	if want := c.URL("lifecycle_db"); dbURL != want {
		t.Errorf("CreateDatabase URL = %q, want %q", dbURL, want)
	}
	assertRoundTrip(ctx, t, dbURL)
	assertMaxConnections(ctx, t, dbURL, "200")

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port()))
	dir := c.Dir()
	stopped = true
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("port %s still accepts connections after Stop", addr)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s still there after Stop (stat: %v)", dir, err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// assertRoundTrip writes rows in the new database and reads them back, and
// checks that the database was really the one asked for.
func assertRoundTrip(ctx context.Context, t *testing.T, dbURL string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	if db != "lifecycle_db" {
		t.Errorf("current_database() = %q, want lifecycle_db", db)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE note (id int PRIMARY KEY, body text NOT NULL);
		INSERT INTO note VALUES (1, 'first'), (2, 'second')`); err != nil {
		t.Fatal(err)
	}
	var n int
	var joined string
	err = conn.QueryRow(ctx, "SELECT count(*), string_agg(body, ',' ORDER BY id) FROM note").Scan(&n, &joined)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || joined != "first,second" {
		t.Errorf("read back %d rows %q, want 2 rows \"first,second\"", n, joined)
	}
}

func assertMaxConnections(ctx context.Context, t *testing.T, dbURL, want string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var got string
	if err := conn.QueryRow(ctx, "SHOW max_connections").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("max_connections = %s, want %s", got, want)
	}
}

func TestDatabaseURL(t *testing.T) {
	got, err := localpg.DatabaseURL("postgres://u:p@db:5433/postgres?sslmode=disable", "t_1")
	if err != nil {
		t.Fatal(err)
	}
	if want := "postgres://u:p@db:5433/t_1?sslmode=disable"; got != want {
		t.Errorf("DatabaseURL = %q, want %q", got, want)
	}
	if _, err := localpg.DatabaseURL("mysql://db/x", "t_1"); err == nil {
		t.Error("DatabaseURL accepted a mysql:// URL")
	}
}

func TestStartReportsServerLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := localpg.Start(ctx, localpg.Options{Settings: map[string]string{"no_such_setting": "1"}})
	if err == nil {
		t.Fatal("Start with an unknown setting succeeded")
	}
	if !containsAll(err.Error(), "server log tail", "no_such_setting") {
		t.Errorf("error does not carry the server log tail: %v", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
