package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"hotline-bridge/handlers/gateway"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// bridge runs the root command with args and returns its stdout.
func bridge(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// A token is printed alone on stdout, shown once: the store keeps its hash, list shows its id and state, never
// the token; revoked or expired, it no longer authenticates.
func TestGatewayTokenCreateListRevoke(t *testing.T) {
	store := testenv.Postgres(t)
	out, err := bridge(t, "gateway", "token", "create", "--unit", "420106", "--expires", "1h", "--store-url", store, "--log-level", "error")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^hbg_[A-Za-z0-9_-]{43}\n$`).MatchString(out) {
		t.Fatalf("stdout %q, want the token alone on a line", out)
	}
	token := strings.TrimSpace(out)
	if _, err := bridge(t, "gateway", "token", "create", "--unit", "420199", "--store-url", store); err == nil || !strings.Contains(err.Error(), "is not a caller") {
		t.Fatalf("a token for an unknown unit: %v, want it refused", err)
	}
	list, err := bridge(t, "gateway", "token", "list", "--json", "--store-url", store, "--log-level", "error")
	if err != nil {
		t.Fatal(err)
	}
	var info gateway.TokenInfo
	if err := json.Unmarshal([]byte(list), &info); err != nil || info.Caller != "420106" || info.RevokedAt != nil ||
		info.ID != gateway.TokenID(gateway.HashToken(token)) || strings.Contains(list, token) {
		t.Fatalf("token list %q (%v): want one live token of 420106 by id, without the token", list, err)
	}
	db, err := postgres.Open(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g := postgres.NewGateway(db, "wuhan")
	ctx := context.Background()
	if caller, err := g.Authenticate(ctx, gateway.HashToken(token), time.Now()); err != nil || caller != "420106" {
		t.Fatalf("authenticate: %q %v, want 420106", caller, err)
	}
	if _, err := g.Authenticate(ctx, gateway.HashToken(token), time.Now().Add(2*time.Hour)); !errors.Is(err, gateway.ErrUnauthenticated) {
		t.Fatalf("an expired token: %v, want ErrUnauthenticated", err)
	}
	if _, err := bridge(t, "gateway", "token", "revoke", info.ID, "--store-url", store, "--log-level", "error"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Authenticate(ctx, gateway.HashToken(token), time.Now()); !errors.Is(err, gateway.ErrUnauthenticated) {
		t.Fatalf("a revoked token: %v, want ErrUnauthenticated", err)
	}
	if _, err := bridge(t, "gateway", "token", "revoke", info.ID, "--store-url", store); err == nil {
		t.Fatal("revoking twice succeeded, want no live token named")
	}
	if list, _ = bridge(t, "gateway", "token", "list", "--store-url", store, "--log-level", "error"); !strings.Contains(list, "revoked") {
		t.Fatalf("token list:\n%s\nwant the token shown revoked", list)
	}
}
