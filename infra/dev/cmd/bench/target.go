package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/events"
	"hotline-bridge/infra/dev/localpg"
)

// cleanupTimeout bounds dropping a target's databases and topics, which runs also after ctx has ended.
const cleanupTimeout = time.Minute

// freshTarget creates an empty upstream and store database and names a topic prefix no earlier run used. drop
// removes them again, so a bench against long-lived servers leaves nothing behind.
func (b *bench) freshTarget(ctx context.Context, name string) (t target, drop func() error, err error) {
	base := "bench_" + b.runID + "_" + name
	dbs := []string{base + "_upstream", base + "_store"}
	t = target{Brokers: b.svc.Brokers, Prefix: "bench." + b.runID + "." + name}
	drop = func() error {
		err := b.drop(dbs, t.Prefix)
		if ctx.Err() != nil {
			// Ctrl-C reaches the services of this terminal too; they are gone with everything in them.
			return nil
		}
		return err
	}
	if t.UpstreamURL, err = localpg.CreateDatabase(ctx, b.svc.PGURL, dbs[0]); err != nil {
		return t, drop, err
	}
	t.StoreURL, err = localpg.CreateDatabase(ctx, b.svc.PGURL, dbs[1])
	return t, drop, err
}

func (b *bench) drop(dbs []string, prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	var errs []error
	for _, db := range dbs {
		errs = append(errs, localpg.DropDatabase(ctx, b.svc.PGURL, db))
	}
	return errors.Join(append(errs, deleteTopics(b.svc.Brokers, prefix+"."))...)
}

// countUpstream is the number of rows in the twelve upstream tables.
func countUpstream(ctx context.Context, url string) (int64, error) {
	var total int64
	for _, k := range events.Catalogue {
		n, err := queryInt(ctx, url, "SELECT count(*) FROM "+pgx.Identifier{k.Table}.Sanitize())
		if err != nil {
			return 0, fmt.Errorf("count upstream %s: %w", k.Table, err)
		}
		total += n
	}
	return total, nil
}

// countEvents is the number of distribution events the bridge wrote.
func countEvents(ctx context.Context, storeURL string) (int64, error) {
	n, err := queryInt(ctx, storeURL, "SELECT count(*) FROM bridge.outbox")
	if err != nil {
		return 0, fmt.Errorf("count distribution events: %w", err)
	}
	return n, nil
}

// countHops is the number of hops the audit trail holds.
func countHops(ctx context.Context, storeURL string) (int64, error) {
	n, err := queryInt(ctx, storeURL, "SELECT count(*) FROM bridge.audit_hop")
	if err != nil {
		return 0, fmt.Errorf("count audit hops: %w", err)
	}
	return n, nil
}

func queryInt(ctx context.Context, url, sql string, args ...any) (int64, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var n int64
	err = conn.QueryRow(ctx, sql, args...).Scan(&n)
	return n, err
}
