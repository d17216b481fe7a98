package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"hotline-bridge/events"
)

// resendBatch is how many rows one repair transaction locks and re-sends: well inside the lock table the sorter
// sizes its own batches to.
const resendBatch = 200

// Delivery checks that every unit topic still holds, readable from its log start, the latest event of every row
// the outbox recorded as published there, and re-sends the current state of the rows whose latest event was lost.
// Per district consumer group it also checks what the group can no longer read.
type Delivery struct {
	units  []string          // unit codes and the broadcast pseudo-unit
	groups map[string]string // unit → the district's consumer group
	prefix string
	outbox Outbox
	broker Broker
}

var _ Check = (*Delivery)(nil)

// NewDelivery checks the topics "<prefix>.<unit>" of units against the outbox.
func NewDelivery(units []string, groups map[string]string, prefix string, outbox Outbox, broker Broker) *Delivery {
	return &Delivery{units: units, groups: groups, prefix: prefix, outbox: outbox, broker: broker}
}

// Name is the check's wire name.
func (d *Delivery) Name() string { return CheckDelivery }

// Run checks every unit; a unit that cannot be checked does not keep the others from being checked and repaired.
func (d *Delivery) Run(ctx context.Context, opts Options, report func(Finding)) error {
	var errs []error
	for _, unit := range d.units {
		err := d.unit(ctx, opts, unit, report)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("unit %s: %w", unit, err))
		}
	}
	return errors.Join(errs...)
}

func (d *Delivery) unit(ctx context.Context, opts Options, unit string, report func(Finding)) error {
	topic := events.UnitTopic(d.prefix, unit)
	layout, err := d.layout(ctx, unit, topic)
	if err != nil {
		return err
	}
	t := &tally{unit: unit, topic: topic, layout: layout, parts: map[int32]*Finding{}}
	if group := d.groups[unit]; group != "" && layout.Exists {
		t.group = group
		if t.committed, err = d.broker.Committed(ctx, group, topic, slices.Sorted(maps.Keys(layout.Partitions))); err != nil {
			return err
		}
	}
	if err := d.outbox.Latest(ctx, unit, t.add); err != nil {
		return err
	}
	t.repaired, t.repairDetail = d.repair(ctx, opts, t)
	for _, f := range t.findings() {
		report(f)
	}
	return nil
}

func (d *Delivery) layout(ctx context.Context, unit, topic string) (Layout, error) {
	spans, exists, err := d.broker.Partitions(ctx, topic)
	if err != nil {
		return Layout{}, err
	}
	rewinds, err := d.outbox.Rewinds(ctx, unit)
	if err != nil {
		return Layout{}, err
	}
	return Layout{Exists: exists, Partitions: spans, Rewinds: rewinds}, nil
}

// repair re-sends the lost rows in their outbox order, creating a missing topic first. It returns how many of
// the lost rows it healed (a prefix of them: it stops at the first failure) and what went wrong, if anything.
func (d *Delivery) repair(ctx context.Context, opts Options, t *tally) (int, string) {
	if opts.DryRun {
		return 0, ""
	}
	if !t.layout.Exists {
		if err := d.broker.CreateTopic(ctx, t.topic); err != nil {
			return 0, fmt.Sprintf("could not create the missing topic: %v", err)
		}
		t.created = true
	}
	done := 0
	for start := 0; start < len(t.lost); start += resendBatch {
		batch := t.lost[start:min(start+resendBatch, len(t.lost))]
		seqs := make([]int64, len(batch))
		for i, l := range batch {
			seqs[i] = l.seq
		}
		// A row skipped because a newer event of it was written meanwhile is healed too: that event is on its way.
		if _, err := d.outbox.Resend(ctx, opts.Run, seqs); err != nil {
			return done, fmt.Sprintf("re-sending stopped after %d rows: %v", done, err)
		}
		done += len(batch)
	}
	return done, ""
}
