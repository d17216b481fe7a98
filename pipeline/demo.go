package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"hotline-bridge/events"
	"hotline-bridge/infra/dev/localpg"
	"hotline-bridge/infra/postgres"
	"hotline-bridge/infra/seed"
)

// DemoOptions sizes the demo.
type DemoOptions struct {
	Registrations int
	Unit          string // whose events to show
}

// Demo runs the whole bridge on a throwaway PostgreSQL and, unless brokers are configured, an embedded
// Kafka-protocol broker: seed a national upstream, run to idle, show what each unit received. It leaves nothing
// running.
func Demo(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer, opts DemoOptions) error {
	stop, err := startDemoServices(ctx, &cfg, log)
	defer stop()
	if err != nil {
		return err
	}
	if err := seedDemo(ctx, cfg, log, out, opts); err != nil {
		return err
	}
	start := time.Now()
	if err := Run(ctx, cfg, log, true); err != nil {
		return err
	}
	fmt.Fprintf(out, "\npipeline caught up in %s: captured, sorted, stored and distributed\n\n", time.Since(start).Round(time.Millisecond))
	if err := printUnitCounts(ctx, cfg, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nfirst events on %s, as a district consumer sees them, each signature checked (bridge tail --unit %s --from-beginning --verify):\n",
		events.UnitTopic(cfg.TopicPrefix, opts.Unit), opts.Unit)
	_, err = Tail(ctx, cfg, out, TailOptions{Unit: opts.Unit, FromBeginning: true, Limit: 8, Verify: true})
	return err
}

// startDemoServices starts what is not configured and returns how to stop it all.
func startDemoServices(ctx context.Context, cfg *Config, log *slog.Logger) (func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if cfg.UpstreamURL == "" || cfg.StoreURL == "" {
		cluster, err := localpg.Start(ctx, localpg.Options{})
		if err != nil {
			return stop, fmt.Errorf("start a throwaway PostgreSQL: %w", err)
		}
		stops = append(stops, func() { _ = cluster.Stop() })
		for _, db := range []struct {
			url  *string
			name string
		}{{&cfg.UpstreamURL, "upstream"}, {&cfg.StoreURL, "wuhan"}} {
			if *db.url, err = cluster.CreateDatabase(ctx, db.name); err != nil {
				return stop, err
			}
		}
		log.Info("throwaway PostgreSQL started", "port", cluster.Port())
	}
	if len(cfg.KafkaBrokers) == 0 {
		broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(cfg.Partitions))
		if err != nil {
			return stop, fmt.Errorf("start the embedded broker: %w", err)
		}
		stops = append(stops, broker.Close)
		cfg.KafkaBrokers = broker.ListenAddrs()
		log.Info("embedded Kafka-protocol broker started", "address", cfg.KafkaBrokers)
	}
	return stop, nil
}

func seedDemo(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer, opts DemoOptions) error {
	stats, changes, err := Seed(ctx, cfg, log, SeedOptions{
		Generate: seed.Options{Registrations: opts.Registrations},
		Changes:  true, Change: seed.ChangeOptions{Rounds: 3, Interval: -1},
	})
	if err == nil {
		fmt.Fprintf(out, "seeded a national upstream: %s\nthen changed it like the live platform: %s\n", stats, changes)
	}
	return err
}

// printUnitCounts shows, per unit, how many rows of each kind the dedicated store holds.
func printUnitCounts(ctx context.Context, cfg Config, out io.Writer) error {
	db, err := postgres.Open(ctx, cfg.StoreURL)
	if err != nil {
		return err
	}
	defer db.Close()
	counts, err := postgres.UnitCounts(ctx, db, cfg.StoreSchema)
	if err != nil {
		return err
	}
	units, _ := cfg.units()
	tw := tabwriter.NewWriter(out, 0, 0, 1, ' ', tabwriter.AlignRight)
	header := []string{"unit", ""}
	for _, k := range events.Catalogue {
		header = append(header, k.Table)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, code := range append(units.Codes(), events.BroadcastUnit) {
		u, _ := units.Get(code)
		line := []string{code, u.Name}
		for _, k := range events.Catalogue {
			line = append(line, fmt.Sprint(counts[code][k.Table]))
		}
		fmt.Fprintln(tw, strings.Join(line, "\t")+"\t")
	}
	return tw.Flush()
}
