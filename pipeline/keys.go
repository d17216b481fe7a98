package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"hotline-bridge/infra/postgres"
)

// RotateOptions tune bridge keys rotate.
type RotateOptions struct {
	// NewKeyFile is the key to move everything under; empty: encryption_key_file. The configured keys (current
	// and old) open what is sealed now.
	NewKeyFile string
	BatchSize  int // rows per reseal transaction
	MaxPasses  int // passes before giving up on a store that keeps receiving values under other keys
}

// ErrRotationUnfinished is a rotation that ran out of passes: values still arrive under another key.
var ErrRotationUnfinished = errors.New("rotation unfinished")

// RotateKeys reseals every copy of personal data the store keeps under the new key, in batches beside a running
// bridge, pass after pass until a pass finds nothing left under another key (or in clear); then it retires the
// other keys in bridge.encryption_key. Interrupted, it is simply run again: what is under the new key already
// is skipped.
func RotateKeys(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer, opts RotateOptions) error {
	target, setting := opts.NewKeyFile, "--new-key-file"
	if target == "" {
		target, setting = cfg.Encryption.KeyFile, "encryption_key_file"
	}
	if target == "" {
		return errors.New("bridge keys rotate: nothing to rotate to: give --new-key-file or set encryption_key_file")
	}
	keys, err := cfg.Encryption.keyringWith(setting, target)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkLiveKeys(ctx, db, keys); err != nil {
		return err
	}
	if err := postgres.RegisterKey(ctx, db, keys.CurrentID(), cfg.Encryption.Algorithm); err != nil {
		return err
	}
	fmt.Fprintf(out, "resealing personal data under encryption key id %s (%s)\n", keys.CurrentID(), cfg.Encryption.Algorithm)
	rotation := postgres.NewRotation(db, cfg.StoreSchema, keys, max(opts.BatchSize, 1))
	for pass := 1; pass <= max(opts.MaxPasses, 1); pass++ {
		r, err := rotation.Pass(ctx)
		fmt.Fprintf(out, "pass %d: %s\n", pass, describeResealed(r))
		if err != nil {
			return fmt.Errorf("bridge keys rotate: %w", err)
		}
		if r.Converged() {
			retired, err := postgres.RetireKeysBut(ctx, db, keys.CurrentID())
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "everything is sealed under key id %s; retired key ids: %s\n", keys.CurrentID(), cmp.Or(strings.Join(retired, ", "), "none"))
			return nil
		}
	}
	return fmt.Errorf("%w after %d passes: values keep arriving under another key: a running bridge still seals with an old key; give every bridge this key as encryption_key_file (the old one in encryption_old_key_files), restart it and run bridge keys rotate again",
		ErrRotationUnfinished, opts.MaxPasses)
}

func describeResealed(r postgres.Resealed) string {
	var parts []string
	for _, place := range slices.Sorted(maps.Keys(r.ByPlace)) {
		parts = append(parts, fmt.Sprintf("%s %d", place, r.ByPlace[place]))
	}
	return fmt.Sprintf("resealed %d (%s), %d changed meanwhile by a running bridge", r.Total(), strings.Join(parts, ", "), r.Raced)
}
