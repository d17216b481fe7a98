package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/events/signing"
	"hotline-bridge/handlers/distribute"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/postgres"
)

// openSigner resolves the key the bridge signs with — signing_key_file's, else the one kept in the store, made
// on the first start — and publishes every public key before anything is signed with it.
func openSigner(ctx context.Context, cfg Config, db *pgxpool.Pool, log *slog.Logger) (*distribute.EventSigner, error) {
	keys := postgres.NewSigningKeys(db)
	fixed, err := fixedKey(ctx, cfg, keys, log)
	if err != nil {
		return nil, err
	}
	signer := distribute.NewEventSigner(keys, fixed, kafka.NewKeyPublisher(cfg.kafka(), events.KeysTopic(cfg.TopicPrefix)))
	key, err := signer.Current(ctx)
	if err != nil {
		return nil, err
	}
	log.Info("signing distribution events", "key_id", key.ID, "algorithm", key.Algorithm, "from_file", fixed != nil)
	return signer, nil
}

// fixedKey is signing_key_file's key, registered for publishing; without a file it makes sure the store holds
// an active key of signing_algorithm, and returns nil: the signer then follows the store's active key.
func fixedKey(ctx context.Context, cfg Config, keys *postgres.SigningKeys, log *slog.Logger) (*signing.PrivateKey, error) {
	if cfg.Signing.KeyFile != "" {
		key, err := cfg.Signing.fileKey()
		if err != nil {
			return nil, err
		}
		return key, keys.Register(ctx, key)
	}
	key, created, err := keys.Ensure(ctx, cfg.Signing.Algorithm)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("made a signing key and keep it in the store", "key_id", key.ID, "algorithm", key.Algorithm)
	}
	return nil, nil
}

// newForwarder is the forwarder of every command that publishes the outbox: it always signs.
func newForwarder(ctx context.Context, cfg Config, db *pgxpool.Pool, sender distribute.Sender, log *slog.Logger, fc distribute.Config) (*distribute.Forwarder, error) {
	signer, err := openSigner(ctx, cfg, db, log)
	if err != nil {
		return nil, err
	}
	fc.Signer = signer
	return distribute.NewForwarder(fc, postgres.NewOutbox(db), sender, log)
}

// RotateSigningKey makes a new stored signing key of signing_algorithm, retires the active one and publishes both:
// running bridges sign their next batch with the new key, and events signed with the old one still verify.
func RotateSigningKey(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) error {
	if cfg.Signing.KeyFile != "" {
		return fmt.Errorf("signing_key_file %s is set, so the bridge signs with that key: put a new key in the file and restart the bridges (the old public key stays published)", cfg.Signing.KeyFile)
	}
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	keys := postgres.NewSigningKeys(db)
	previous, err := keys.Active(ctx)
	if err != nil && !errors.Is(err, postgres.ErrNoActiveKey) {
		return err
	}
	fresh, err := keys.Rotate(ctx, cfg.Signing.Algorithm)
	if err != nil {
		return err
	}
	if err := distribute.NewEventSigner(keys, nil, kafka.NewKeyPublisher(cfg.kafka(), events.KeysTopic(cfg.TopicPrefix))).Publish(ctx); err != nil {
		return fmt.Errorf("signing key %s is active but not yet published (a bridge publishes it before signing with it): %w", fresh.ID, err)
	}
	fmt.Fprintf(out, "signing key %s (%s) active\n", fresh.ID, fresh.Algorithm)
	if previous != nil {
		fmt.Fprintf(out, "signing key %s (%s) retired; events it signed still verify\n", previous.ID, previous.Algorithm)
	}
	return nil
}

// PublicKeys writes every public signing key, retired ones too, as a public keys file (events/signing reads it).
func PublicKeys(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) error {
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := postgres.NewSigningKeys(db).Public(ctx)
	if err != nil {
		return err
	}
	data, err := signing.MarshalKeySet(keys)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", data)
	return err
}
