package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/events"
)

// rawPartitions matches the bridge's topics, so the yardstick writes as many partitions as the bridge.
const rawPartitions = 6

// rawPipe is the yardstick: the simplest pipe that moves the same rows into the same broker, psql's COPY of each
// table as JSON lines into kcat, table after table. It returns the wall time of all twelve.
func rawPipe(ctx context.Context, l logs, t target) (time.Duration, error) {
	topics := make([]string, len(events.Catalogue))
	for i, k := range events.Catalogue {
		topics[i] = t.Prefix + ".raw." + k.Table
	}
	// Created beforehand: into auto-created topics librdkafka first waits for metadata, which would be measured.
	if err := createTopics(t.Brokers, topics, rawPartitions); err != nil {
		return 0, fmt.Errorf("raw pipe: %w", err)
	}
	start := time.Now()
	for i, k := range events.Catalogue {
		if err := pipeTable(ctx, l, t, k.Table, topics[i]); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// pipeTable runs `psql -c "COPY (SELECT row_to_json(t) FROM table t) TO STDOUT" | kcat -P -z snappy -t topic`.
func pipeTable(ctx context.Context, l logs, t target, table, topic string) error {
	log, path, err := l.open("rawpipe")
	if err != nil {
		return err
	}
	defer log.Close()
	sql := fmt.Sprintf("COPY (SELECT row_to_json(t) FROM %s t) TO STDOUT", pgx.Identifier{table}.Sanitize())
	psql := command(ctx, nil, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", t.UpstreamURL, "-c", sql)
	kcat := command(ctx, nil, "kcat", "-P", "-b", t.Brokers, "-z", "snappy", "-t", topic)
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("raw pipe %s: %w", table, err)
	}
	psql.Stdout, psql.Stderr = w, log
	kcat.Stdin, kcat.Stdout, kcat.Stderr = r, log, log
	errStart := errors.Join(psql.Start(), kcat.Start())
	// Only the children hold the pipe now: kcat sees EOF when psql ends.
	r.Close()
	w.Close()
	if errStart != nil {
		_ = wait(psql, kcat)
		return fmt.Errorf("raw pipe %s: %w", table, errStart)
	}
	if err := wait(psql, kcat); err != nil {
		return withLog(fmt.Errorf("raw pipe %s: %w", table, err), path)
	}
	return nil
}
