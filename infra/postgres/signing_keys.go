package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events/signing"
	"hotline-bridge/handlers/distribute"
)

// SigningKeys is the bridge's signing keys in its own database (bridge.signing_key), shared by every instance.
type SigningKeys struct {
	db *pgxpool.Pool

	mu     sync.Mutex
	parsed *signing.PrivateKey // the active key as last read: parsing it again for every batch is wasted work
}

var _ distribute.SigningKeys = (*SigningKeys)(nil)

// NewSigningKeys keeps keys in db, the bridge's own database.
func NewSigningKeys(db *pgxpool.Pool) *SigningKeys { return &SigningKeys{db: db} }

// ErrNoActiveKey says the store holds no key to sign with: Ensure makes one.
var ErrNoActiveKey = errors.New("no active signing key in bridge.signing_key")

// keyLock serialises creating and rotating keys across instances; the unique index on the active key is the
// guarantee, the lock saves the loser a failed insert.
const keyLock = `SELECT pg_advisory_xact_lock(hashtext('hotline-bridge signing key'))`

// Active is the stored key new events are signed with.
func (k *SigningKeys) Active(ctx context.Context) (*signing.PrivateKey, error) {
	var id string
	var der []byte
	err := k.db.QueryRow(ctx, `SELECT key_id, private_key FROM bridge.signing_key
		WHERE retired_at IS NULL AND private_key IS NOT NULL`).Scan(&id, &der)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoActiveKey
	}
	if err != nil {
		return nil, fmt.Errorf("read the active signing key: %w", err)
	}
	return k.remember(id, der)
}

func (k *SigningKeys) remember(id string, der []byte) (*signing.PrivateKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.parsed != nil && k.parsed.ID == id {
		return k.parsed, nil
	}
	key, err := signing.ParsePrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s in bridge.signing_key: %w", id, err)
	}
	if key.ID != id {
		return nil, fmt.Errorf("signing key %s in bridge.signing_key holds the private key of %s", id, key.ID)
	}
	k.parsed = key
	return key, nil
}

// Ensure returns the active stored key, first making one of algorithm when there is none, or when the active
// one is of another algorithm (signing_algorithm changed), which it then retires. Instances calling it at the same
// time all get the one key. created says whether this call made it.
func (k *SigningKeys) Ensure(ctx context.Context, algorithm string) (key *signing.PrivateKey, created bool, err error) {
	key, err = k.Active(ctx)
	if err == nil && key.Algorithm == algorithm {
		return key, false, nil
	}
	if err != nil && !errors.Is(err, ErrNoActiveKey) {
		return nil, false, err
	}
	return k.replace(ctx, algorithm, func(active *signing.PrivateKey) bool {
		return active == nil || active.Algorithm != algorithm
	})
}

// Rotate retires the active stored key, if any, and makes a new one of algorithm; the retired key stays published
// for verification. It returns the new key.
func (k *SigningKeys) Rotate(ctx context.Context, algorithm string) (*signing.PrivateKey, error) {
	key, _, err := k.replace(ctx, algorithm, func(*signing.PrivateKey) bool { return true })
	return key, err
}

// replace makes a new key of algorithm in place of the active one when stale says so, under the key lock.
func (k *SigningKeys) replace(ctx context.Context, algorithm string, stale func(active *signing.PrivateKey) bool) (*signing.PrivateKey, bool, error) {
	fresh, err := signing.GenerateKey(algorithm)
	if err != nil {
		return nil, false, err
	}
	der, err := fresh.MarshalPKCS8()
	if err != nil {
		return nil, false, fmt.Errorf("encode signing key %s: %w", fresh.ID, err)
	}
	tx, err := k.db.Begin(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("begin signing key transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, keyLock); err != nil {
		return nil, false, fmt.Errorf("take the signing key lock: %w", err)
	}
	active, err := activeIn(ctx, tx)
	if err != nil {
		return nil, false, err
	}
	if !stale(active) {
		return active, false, nil // another instance made it while this one waited for the lock
	}
	_, err = tx.Exec(ctx, `UPDATE bridge.signing_key SET retired_at = clock_timestamp()
		WHERE retired_at IS NULL AND private_key IS NOT NULL`)
	if err == nil {
		_, err = tx.Exec(ctx, `INSERT INTO bridge.signing_key (key_id, algorithm, public_key, private_key)
			VALUES ($1, $2, $3, $4)`, fresh.ID, fresh.Algorithm, fresh.PublicKey(time.Now()).PEM, der)
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		return nil, false, fmt.Errorf("store signing key %s: %w", fresh.ID, err)
	}
	return fresh, true, nil
}

func activeIn(ctx context.Context, tx pgx.Tx) (*signing.PrivateKey, error) {
	var der []byte
	err := tx.QueryRow(ctx, `SELECT private_key FROM bridge.signing_key
		WHERE retired_at IS NULL AND private_key IS NOT NULL`).Scan(&der)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the active signing key: %w", err)
	}
	key, err := signing.ParsePrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("active signing key in bridge.signing_key: %w", err)
	}
	return key, nil
}

// Register records the public half of a key kept in a file (signing_key_file), so that it is published with the
// others; registering it again changes nothing.
func (k *SigningKeys) Register(ctx context.Context, key *signing.PrivateKey) error {
	_, err := k.db.Exec(ctx, `INSERT INTO bridge.signing_key (key_id, algorithm, public_key)
		VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING`, key.ID, key.Algorithm, key.PublicKey(time.Now()).PEM)
	return wrapNonNil("register signing key "+key.ID, err)
}

// Public is every key the bridge has signed with, retired ones too, oldest first.
func (k *SigningKeys) Public(ctx context.Context) ([]signing.PublicKey, error) {
	rows, err := k.db.Query(ctx, `SELECT key_id, algorithm, public_key, created_at, retired_at
		FROM bridge.signing_key ORDER BY created_at, key_id`)
	if err != nil {
		return nil, fmt.Errorf("read the public signing keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (signing.PublicKey, error) {
		var p signing.PublicKey
		err := row.Scan(&p.ID, &p.Algorithm, &p.PEM, &p.Created, &p.Retired)
		p.Created = p.Created.UTC()
		if p.Retired != nil {
			*p.Retired = p.Retired.UTC()
		}
		return p, err
	})
	return keys, wrapNonNil("read the public signing keys", err)
}
