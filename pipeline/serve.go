package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/status"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/metrics"
	"hotline-bridge/infra/postgres"
)

// observer is what bridge run serves on http_addr: the metrics, and the probes of its dependencies. Probes and
// scrape-time queries go through small pools of their own, so that they answer (and time out) on their own
// while the sorting routers hold every connection of the main pools.
type observer struct {
	metrics         *metrics.Metrics
	store, upstream *pgxpool.Pool
	health          *metrics.Health
	mux             *http.ServeMux
	server          *http.Server
	listener        net.Listener
	stopped         chan struct{}
}

// observe builds the metrics and, unless http_addr is empty, starts serving at once: /healthz and /readyz answer
// while the bridge still waits for a dependency at startup. A port already taken fails the start.
func observe(ctx context.Context, cfg Config, log *slog.Logger) (_ *observer, err error) {
	o := &observer{metrics: metrics.New()}
	if cfg.HTTPAddr == "" {
		return o, nil
	}
	defer func() {
		if err != nil {
			o.close(log)
		}
	}()
	if o.store, err = postgres.OpenSized(ctx, cfg.StoreURL, 2); err != nil {
		return nil, err
	}
	if o.upstream, err = postgres.OpenSized(ctx, cfg.UpstreamURL, 2); err != nil {
		return nil, err
	}
	o.health = metrics.NewHealth(
		metrics.Dependency{Name: "store", Probe: o.store.Ping},
		metrics.Dependency{Name: "upstream", Probe: o.upstream.Ping},
		metrics.Dependency{Name: "broker", Probe: func(ctx context.Context) error {
			return kafka.Ping(ctx, cfg.kafka(), QuarantineTopic(cfg.TopicPrefix))
		}},
	)
	err = errors.Join(o.metrics.Register(o.health),
		o.metrics.Register(metrics.NewStateCollector(postgres.NewMetricsState(o.store, o.upstream, cfg.MaxCommitDelay))))
	if err != nil {
		return nil, err
	}
	if o.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("serve metrics and health on http_addr %s: %w", cfg.HTTPAddr, err)
	}
	o.mux = http.NewServeMux()
	o.mux.Handle("GET /metrics", o.metrics.Handler(log))
	o.mux.HandleFunc("GET /healthz", o.health.Healthz)
	o.mux.HandleFunc("GET /readyz", o.health.Readyz)
	o.server = &http.Server{Handler: o.mux, ReadHeaderTimeout: 5 * time.Second}
	o.stopped = make(chan struct{})
	go func() {
		defer close(o.stopped)
		if err := o.server.Serve(o.listener); !errors.Is(err, http.ErrServerClosed) {
			log.Error("serving metrics and health stopped", "address", cfg.HTTPAddr, "error", err)
		}
	}()
	log.Info("serving metrics and health", "address", o.listener.Addr().String())
	return o, nil
}

// close stops serving, letting requests in flight finish for a few seconds.
func (o *observer) close(log *slog.Logger) {
	if o.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := o.server.Shutdown(ctx); err != nil {
			log.Warn("metrics and health server did not stop cleanly", "error", err)
		}
		<-o.stopped
	} else if o.listener != nil {
		_ = o.listener.Close()
	}
	for _, db := range []*pgxpool.Pool{o.store, o.upstream} {
		if db != nil {
			db.Close()
		}
	}
}

// statusRefresh is how often an open status page asks for a new snapshot.
const statusRefresh = 5 * time.Second

// serveStatus adds the status page once the bridge knows its unit catalogue; units is read at every refresh, so
// a catalogue reloaded on SIGHUP shows at once.
func (o *observer) serveStatus(cfg Config, log *slog.Logger, units func() *jurisdiction.Units) {
	if o.mux == nil {
		return
	}
	page := &status.Page{
		Source: &status.Source{
			Store:   postgres.NewStatusPage(o.store, o.upstream, cfg.MaxCommitDelay),
			Ready:   o.readiness,
			Units:   func() []status.Unit { return statusUnits(units()) },
			Topic:   func(unit string) string { return events.UnitTopic(cfg.TopicPrefix, unit) },
			Version: Version().String(),
		},
		Journey: postgres.NewAuditTrail(o.store).Journey,
		Refresh: statusRefresh,
		Log:     log,
	}
	page.Register(o.mux)
}

func (o *observer) readiness(ctx context.Context) []status.Dependency {
	results := o.health.Check(ctx)
	out := make([]status.Dependency, len(results))
	for i, r := range results {
		out[i] = status.Dependency{Name: r.Name, Ready: r.Err == nil, Detail: r.Detail()}
	}
	return out
}

func statusUnits(units *jurisdiction.Units) []status.Unit {
	codes := units.Codes()
	out := make([]status.Unit, len(codes))
	for i, code := range codes {
		u, _ := units.Get(code)
		out[i] = status.Unit{Code: code, Name: u.Name}
	}
	return out
}
