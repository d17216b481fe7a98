package sort

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// MaxFieldBytes bounds a text value; a larger one is a corrupt row, not a complaint.
const MaxFieldBytes = 16 << 10

// BadRowError marks a row that cannot be sorted as it is; it goes to quarantine with Reason, and the flow goes on.
type BadRowError struct {
	Table, ID string
	Reason    string
}

func (e *BadRowError) Error() string {
	return fmt.Sprintf("bad %s row %s: %s", e.Table, e.ID, e.Reason)
}

// Sorter decides and stores captured row versions.
type Sorter struct {
	units    *jurisdiction.Units
	store    Store
	upstream Upstream
}

// NewSorter builds a sorter over the unit catalogue.
func NewSorter(units *jurisdiction.Units, store Store, upstream Upstream) *Sorter {
	return &Sorter{units: units, store: store, upstream: upstream}
}

// Sort decides one captured row version and everything that decision carries along (parked rows it unblocks, a
// family that moves with its work order), all in one store transaction. A bad row comes back as *BadRowError.
func (s *Sorter) Sort(ctx context.Context, v events.RowVersion) error {
	return s.store.Apply(ctx, func(tx Tx) error {
		w := &worklist{sorter: s, tx: tx}
		w.push(v, false)
		return w.run(ctx)
	})
}

var divisionCode = regexp.MustCompile(`^[0-9]{6}$`)

// decodeRow parses and checks a captured row's generic invariants; kind-specific ones are the jurisdiction's.
func decodeRow(v events.RowVersion) (jurisdiction.Row, error) {
	bad := func(format string, args ...any) error {
		return &BadRowError{Table: v.Table, ID: v.ID, Reason: fmt.Sprintf(format, args...)}
	}
	if _, ok := events.KindByTable(v.Table); !ok {
		return nil, bad("unknown table")
	}
	var row jurisdiction.Row
	if err := json.Unmarshal(v.Payload, &row); err != nil {
		return nil, bad("payload is not a JSON object: %v", err)
	}
	if id, _ := row["id"].(string); id != v.ID || id == "" {
		return nil, bad("payload id %q does not match the event's row id", row["id"])
	}
	for col, val := range row {
		s, isText := val.(string)
		if isText && len(s) > MaxFieldBytes {
			return nil, bad("column %s is %d bytes, over the %d limit", col, len(s), MaxFieldBytes)
		}
		if isText && s != "" && (col == "division_code" || col == "business_division_code") && !divisionCode.MatchString(s) {
			return nil, bad("column %s is not a six-digit GB/T 2260 code", col)
		}
	}
	return row, nil
}

// asBadRow turns a jurisdiction or store error about the row's content into a BadRowError.
func asBadRow(v events.RowVersion, err error) error {
	var bad *BadRowError
	if errors.As(err, &bad) {
		return err
	}
	if errors.Is(err, jurisdiction.ErrBadRow) || errors.Is(err, jurisdiction.ErrBadTree) || errors.Is(err, ErrUnstorable) {
		return &BadRowError{Table: v.Table, ID: v.ID, Reason: err.Error()}
	}
	return err
}

// ErrUnstorable marks a value the dedicated store's column types refuse (a number that is not one, say).
var ErrUnstorable = errors.New("value does not fit the store's column type")
