package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/handlers/gateway"
	"hotline-bridge/infra/postgres"
)

// GatewayHooks lets a caller of ServeGateway learn where it listens (gateway_addr may name port 0).
type GatewayHooks struct {
	Listening func(addr string)
}

// ServeGateway is bridge gateway: the sign-for and feedback API on gateway_addr and the confirmation of what it
// accepted, until ctx ends; then it stops taking requests and lets those in flight finish. It needs the store
// only: the events it keeps go out through the forwarder of bridge run.
func ServeGateway(ctx context.Context, cfg Config, log *slog.Logger, hooks GatewayHooks) error {
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	g, err := startGateway(ctx, cfg, log, db)
	if err != nil {
		return err
	}
	if hooks.Listening != nil {
		hooks.Listening(g.listener.Addr().String())
	}
	var confirmer sync.WaitGroup
	confirmer.Go(func() { gateway.RunConfirmer(ctx, g.store, cfg.GatewayConfirmInterval, log) })
	<-ctx.Done()
	g.shutdown(log)
	confirmer.Wait()
	return nil
}

// gatewayServer is the gateway listening.
type gatewayServer struct {
	store    *postgres.Gateway
	server   *http.Server
	listener net.Listener
	served   chan struct{}
}

// startGateway listens on gateway_addr and serves in the background. A port already taken fails the start.
func startGateway(ctx context.Context, cfg Config, log *slog.Logger, db *pgxpool.Pool) (*gatewayServer, error) {
	doc, err := gateway.LoadDocument(ctx)
	if err != nil {
		return nil, err
	}
	g := &gatewayServer{store: postgres.NewGateway(db, cfg.StoreSchema), served: make(chan struct{})}
	handler, err := gateway.NewServer(cfg.Gateway.server(), doc, g.store, log)
	if err != nil {
		return nil, err
	}
	if g.listener, err = net.Listen("tcp", cfg.GatewayAddr); err != nil {
		return nil, fmt.Errorf("serve the gateway on gateway_addr %s: %w", cfg.GatewayAddr, err)
	}
	// The server's own bounds sit above the handler's request timeout, so a slow store is answered with a
	// problem (503) rather than a cut connection; a slow client is cut.
	g.server = &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: cfg.GatewayRequestTimeout + 5*time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		defer close(g.served)
		if err := g.server.Serve(g.listener); !errors.Is(err, http.ErrServerClosed) {
			log.Error("serving the gateway stopped", "address", cfg.GatewayAddr, "error", err)
		}
	}()
	log.Info("serving the gateway", "address", g.listener.Addr().String())
	return g, nil
}

// shutdown stops listening and waits for the requests in flight (each commits or rolls back whole), within a
// bound.
func (g *gatewayServer) shutdown(log *slog.Logger) {
	if g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := g.server.Shutdown(ctx); err != nil {
		log.Warn("the gateway did not stop cleanly", "error", err)
	}
	<-g.served
}

// CreateGatewayToken issues a token to caller (a unit code or the hotline caller), valid for ttl, and returns it:
// it is shown once, and only its hash is kept.
func CreateGatewayToken(ctx context.Context, cfg Config, log *slog.Logger, caller string, ttl time.Duration) (string, error) {
	if !slices.Contains(cfg.callers(), caller) {
		return "", fmt.Errorf("--unit %q is not a caller: one of %s", caller, strings.Join(cfg.callers(), ", "))
	}
	if ttl <= 0 {
		return "", fmt.Errorf("--expires must be positive, got %s", ttl)
	}
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return "", err
	}
	defer db.Close()
	token, hash, id := gateway.NewToken()
	now := time.Now().UTC()
	info := gateway.TokenInfo{ID: id, Caller: caller, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := postgres.NewGateway(db, cfg.StoreSchema).CreateToken(ctx, info, hash); err != nil {
		return "", err
	}
	log.Info("gateway token created", "id", id, "caller", caller, "expires_at", info.ExpiresAt)
	return token, nil
}

// RevokeGatewayToken revokes the token with the id `token list` shows.
func RevokeGatewayToken(ctx context.Context, cfg Config, log *slog.Logger, id string) error {
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	revoked, err := postgres.NewGateway(db, cfg.StoreSchema).RevokeToken(ctx, id, time.Now().UTC())
	if err != nil {
		return err
	}
	if !revoked {
		return fmt.Errorf("no live gateway token %q (see bridge gateway token list)", id)
	}
	log.Info("gateway token revoked", "id", id)
	return nil
}

// ListGatewayTokens prints every token's id, caller and dates (never the token: it is not kept).
func ListGatewayTokens(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer, asJSON bool) error {
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	tokens, err := postgres.NewGateway(db, cfg.StoreSchema).ListTokens(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(out)
		for _, t := range tokens {
			if err := enc.Encode(t); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tCALLER\tCREATED\tEXPIRES\tSTATE")
	now := time.Now()
	for _, t := range tokens {
		state := "live"
		switch {
		case t.RevokedAt != nil:
			state = "revoked " + t.RevokedAt.UTC().Format(time.DateTime)
		case !t.ExpiresAt.After(now):
			state = "expired"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Caller, t.CreatedAt.UTC().Format(time.DateTime),
			t.ExpiresAt.UTC().Format(time.DateTime), state)
	}
	return w.Flush()
}
