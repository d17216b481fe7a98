package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// exclusive runs fn holding the session advisory lock key names (an SQL expression), on one connection taken from
// the pool for it: the lock goes with the session if the instance dies, so a crashed holder never blocks the
// next. Without wait it returns false at once when another session holds the lock.
func exclusive(ctx context.Context, db *pgxpool.Pool, what, key string, wait bool, fn func(context.Context) error) (bool, error) {
	conn, err := db.Acquire(ctx)
	if err != nil {
		return false, wrapNonNil("connect for the "+what+" lock", err)
	}
	defer conn.Release()
	got := true
	if wait {
		_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(`+key+`)`)
	} else {
		err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+key+`)`).Scan(&got)
	}
	if err != nil || !got {
		return false, wrapNonNil("take the "+what+" lock", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx)) // a closed session releases the lock with it
		}
	}()
	return true, fn(ctx)
}
