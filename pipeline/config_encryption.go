package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/infra/atrest"
	"hotline-bridge/infra/postgres"
)

// Encryption is personal data at rest in the store: sealed with the key in KeyFile whenever it is set; the keys
// in OldKeyFiles only open what earlier keys sealed, until bridge keys rotate has moved it to the current one.
type Encryption struct {
	KeyFile     string   `koanf:"encryption_key_file"`
	OldKeyFiles []string `koanf:"encryption_old_key_files"`
	Algorithm   string   `koanf:"encryption_algorithm"` // AES-256-GCM or SM4-GCM
}

// validate reports every problem at once: an unknown algorithm, and each key file that cannot be read or is not
// exactly 32 bytes.
func (e Encryption) validate() error {
	var errs []error
	if !contains(atrest.Algorithms, e.Algorithm) {
		errs = append(errs, fmt.Errorf("encryption_algorithm must be %s, got %q", strings.Join(atrest.Algorithms, " or "), e.Algorithm))
	}
	if e.KeyFile != "" {
		_, err := atrest.ReadKeyFile("encryption_key_file", e.KeyFile)
		errs = append(errs, err)
	}
	for _, path := range e.OldKeyFiles {
		_, err := atrest.ReadKeyFile("encryption_old_key_files", path)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// keyring reads the key files: the current one (none when KeyFile is empty) and every old one.
func (e Encryption) keyring() (*atrest.Keyring, error) {
	return e.keyringWith("encryption_key_file", e.KeyFile)
}

// keyringWith seals with the key in current (named by setting in errors) and opens with it, KeyFile and every
// old key.
func (e Encryption) keyringWith(setting, current string) (*atrest.Keyring, error) {
	var sealing []byte
	var errs []error
	if current != "" {
		raw, err := atrest.ReadKeyFile(setting, current)
		sealing, errs = raw, append(errs, err)
	}
	type named struct{ setting, path string }
	others := []named{{"encryption_key_file", e.KeyFile}}
	for _, path := range e.OldKeyFiles {
		others = append(others, named{"encryption_old_key_files", path})
	}
	var readable [][]byte
	for _, o := range others {
		if o.path == "" || o.path == current {
			continue
		}
		raw, err := atrest.ReadKeyFile(o.setting, o.path)
		readable, errs = append(readable, raw), append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return atrest.NewKeyring(e.Algorithm, sealing, readable...)
}

// openKeyring reads the keys and checks them against the store: every key that may still have sealed something
// there must be among them, or the bridge could not publish what it sealed. The key that seals is registered.
// Without encryption_key_file it warns that personal data is kept in clear.
func openKeyring(ctx context.Context, cfg Config, db *pgxpool.Pool, log *slog.Logger) (*atrest.Keyring, error) {
	keys, err := cfg.Encryption.keyring()
	if err != nil {
		return nil, err
	}
	if err := checkLiveKeys(ctx, db, keys); err != nil {
		return nil, err
	}
	if !keys.Sealing() {
		log.Warn("encryption_key_file is not set: personal data (names, phones, ID numbers, addresses) is kept in clear in the store; see README, Security")
		return keys, nil
	}
	if err := postgres.RegisterKey(ctx, db, keys.CurrentID(), cfg.Encryption.Algorithm); err != nil {
		return nil, err
	}
	log.Info("personal data is sealed at rest", "key_id", keys.CurrentID(), "algorithm", cfg.Encryption.Algorithm)
	return keys, nil
}

// checkLiveKeys names every key the store may hold data under that keys cannot open.
func checkLiveKeys(ctx context.Context, db *pgxpool.Pool, keys *atrest.Keyring) error {
	live, err := postgres.LiveKeys(ctx, db)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range live {
		if !keys.Opens(k.ID) {
			errs = append(errs, fmt.Errorf("the store holds personal data sealed under encryption key id %s (%s, first used %s), which none of the configured keys opens: add its key file to encryption_old_key_files (or make it encryption_key_file)",
				k.ID, k.Algorithm, k.FirstUsed.UTC().Format("2006-01-02 15:04:05Z")))
		}
	}
	return errors.Join(errs...)
}

// openDedicated prepares the dedicated store sealing with the configured keys (see openKeyring).
func openDedicated(ctx context.Context, cfg Config, db *pgxpool.Pool, log *slog.Logger) (*postgres.Store, *atrest.Keyring, error) {
	store, err := postgres.NewStore(ctx, db, cfg.StoreSchema)
	if err != nil {
		return nil, nil, err
	}
	keys, err := openKeyring(ctx, cfg, db, log)
	if err != nil {
		return nil, nil, err
	}
	store.SealWith(keys)
	return store, keys, nil
}
