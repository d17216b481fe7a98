package pipeline

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/infra/kafka"
)

// reloadUnitsOnHangup reloads the unit catalogue (units) on every SIGHUP until ctx ends. The new file is
// validated first, and the topics of units it adds are created; a file that fails either is refused, with every
// problem logged, and the running catalogue kept. The sorter decides every batch that starts afterwards under the
// new catalogue. What the reconciler and replay jobs of this process check stays the catalogue they started with
// until the next restart.
func (b *bridge) reloadUnitsOnHangup(ctx context.Context) {
	hangups := make(chan os.Signal, 1)
	signal.Notify(hangups, syscall.SIGHUP)
	defer signal.Stop(hangups)
	b.log.Info("SIGHUP reloads the unit catalogue", "units", b.cfg.Units)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hangups:
			b.reloadUnits()
		}
	}
}

// reloadUnits reads, validates and installs the catalogue; nil when it was refused.
func (b *bridge) reloadUnits() *jurisdiction.Units {
	log := b.log.With("units", b.cfg.Units)
	if b.cfg.Units == "" {
		log.Warn("SIGHUP: no units file is configured (the embedded catalogue is in use); nothing to reload")
		return nil
	}
	units, err := b.cfg.units()
	if err != nil {
		log.Error("SIGHUP: the unit catalogue was refused; the running one is kept", "error", err)
		return nil
	}
	if err := b.cfg.checkConsumerGroups(); err != nil {
		log.Error("SIGHUP: the unit catalogue was refused (consumer_groups names units it lacks); the running one is kept", "error", err)
		return nil
	}
	if _, err := kafka.EnsureTopics(b.cfg.kafka(), b.cfg.allTopics(units)); err != nil {
		log.Error("SIGHUP: the topics of the new unit catalogue could not be created; the running one is kept", "error", err)
		return nil
	}
	b.sorter.SetUnits(units)
	log.Info("SIGHUP: unit catalogue reloaded", "unit_codes", slices.Sorted(slices.Values(units.Codes())))
	return units
}
