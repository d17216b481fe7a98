package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EncryptionKey is a key personal data in the store may be sealed under, by id (bridge.encryption_key).
type EncryptionKey struct {
	ID        string
	Algorithm string
	FirstUsed time.Time
}

// RegisterKey notes that the key of id seals from now on; a key retired before is live again.
func RegisterKey(ctx context.Context, db *pgxpool.Pool, id, algorithm string) error {
	_, err := db.Exec(ctx, `INSERT INTO bridge.encryption_key (key_id, algorithm) VALUES ($1, $2)
		ON CONFLICT (key_id) DO UPDATE SET retired_at = NULL`, id, algorithm)
	if err != nil {
		return fmt.Errorf("register encryption key id %s: %w", id, err)
	}
	return nil
}

// LiveKeys are the keys not retired: something may still be sealed under each.
func LiveKeys(ctx context.Context, db *pgxpool.Pool) ([]EncryptionKey, error) {
	rows, err := db.Query(ctx, `SELECT key_id, algorithm, first_used FROM bridge.encryption_key
		WHERE retired_at IS NULL ORDER BY first_used`)
	if err != nil {
		return nil, fmt.Errorf("read the encryption keys in use: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowToStructByPos[EncryptionKey])
	if err != nil {
		return nil, fmt.Errorf("read the encryption keys in use: %w", err)
	}
	return keys, nil
}

// RetireKeysBut retires every live key but current, once a rotation found nothing sealed under them; it returns
// the ids retired.
func RetireKeysBut(ctx context.Context, db *pgxpool.Pool, current string) ([]string, error) {
	rows, err := db.Query(ctx, `UPDATE bridge.encryption_key SET retired_at = clock_timestamp()
		WHERE key_id <> $1 AND retired_at IS NULL RETURNING key_id`, current)
	if err != nil {
		return nil, fmt.Errorf("retire encryption keys: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("retire encryption keys: %w", err)
	}
	return ids, nil
}
