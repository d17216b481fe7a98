package capture

import (
	"context"
	"time"

	"hotline-bridge/events"
)

// Source reads one upstream table in (update_time, id) order.
type Source interface {
	// ReadPage returns up to limit row versions of table strictly after pos, in (update_time, id) order.
	ReadPage(ctx context.Context, table string, after Position, limit int) ([]events.RowVersion, error)
	// Now is the upstream database's clock, so that host clock skew cannot move the settle line.
	Now(ctx context.Context) (time.Time, error)
}

// Watermarks keeps the durable capture position of each table.
type Watermarks interface {
	Load(ctx context.Context, table string) (Position, error)
	Save(ctx context.Context, table string, pos Position) error
}

// Position is a point in a table's (update_time, id) order. The zero Position lies before every row, including
// rows stamped at the epoch or earlier.
type Position struct {
	Time time.Time
	ID   string
}

// IsZero reports whether p lies before every row.
func (p Position) IsZero() bool { return p.ID == "" && p.Time.IsZero() }

// PositionOf is the position of a row version.
func PositionOf(v events.RowVersion) Position { return Position{Time: v.UpdateTime, ID: v.ID} }

// PageLog keeps the download log (下载日志).
type PageLog interface {
	// Record appends pages, oldest first, in one write.
	Record(ctx context.Context, pages []Page) error
}

// Page is one entry of the download log: what one page read from the upstream and what came of it. A round that
// failed before it could read a page (the watermark or the upstream clock unreadable) is recorded as a page that
// read nothing.
type Page struct {
	Table     string
	Started   time.Time     // when its read began
	Duration  time.Duration // from the read to the watermark save
	From, To  Position      // the durable watermark before and after the page
	Read      int           // row versions the page read
	Published int           // of them, published now; the others went out in an earlier round and are not settled
	Error     string        // why the page failed; empty when it did not. Names tables, ids and addresses, never values
}
