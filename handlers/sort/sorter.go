package sort

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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

// Sorter decides and stores captured row versions, a batch per store transaction.
type Sorter struct {
	units    *jurisdiction.Units
	store    Store
	upstream Upstream
	tree     *treeCache
}

// NewSorter builds a sorter over the unit catalogue.
func NewSorter(units *jurisdiction.Units, store Store, upstream Upstream) *Sorter {
	return &Sorter{units: units, store: store, upstream: upstream, tree: newTreeCache()}
}

// Sort decides one captured row version and everything that decision carries along. A bad row comes back as
// *BadRowError.
func (s *Sorter) Sort(ctx context.Context, v events.RowVersion) error {
	rejected, err := s.SortBatch(ctx, []events.RowVersion{v})
	if err != nil || len(rejected) == 0 {
		return err
	}
	return &BadRowError{Table: v.Table, ID: v.ID, Reason: rejected[0].Reason}
}

// SortBatch decides captured row versions and everything their decisions carry along (parked rows they
// unblock, families that move with their work order) in one store transaction. The rows that cannot be sorted
// as they are come back with their reasons, for the caller to set aside; everything else is committed.
func (s *Sorter) SortBatch(ctx context.Context, rows []events.RowVersion) ([]Rejected, error) {
	return s.decideAll(ctx, rows, false)
}

// decideAll runs the batch until the store takes it: a value the store refuses makes its row bad, and the batch
// is decided again without it, since what the others carry along may depend on it.
func (s *Sorter) decideAll(ctx context.Context, rows []events.RowVersion, carried bool) ([]Rejected, error) {
	unstorable := map[string]string{}
	for {
		b, err := s.attempt(ctx, rows, carried, unstorable)
		var refused *UnstorableError
		if errors.As(err, &refused) && !hasAll(unstorable, refused.Reasons) {
			maps.Copy(unstorable, refused.Reasons)
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(b.tree.changed) > 0 {
			s.tree.committed(b.treeVersion, b.tree.changed)
		}
		return b.rejected, nil
	}
}

func (s *Sorter) attempt(ctx context.Context, rows []events.RowVersion, carried bool, unstorable map[string]string) (*batch, error) {
	var b *batch
	err := s.store.Apply(ctx, func(tx Tx) error {
		version, orgs := s.tree.snapshot()
		b = &batch{sorter: s, tx: tx, tree: treeView{version: version, base: orgs}, ledger: map[Ref]seen{}, unstorable: unstorable}
		if changesTree(rows) {
			if err := tx.LockTree(ctx); err != nil {
				return err
			}
		}
		return b.run(ctx, rows, carried)
	})
	return b, err
}

func changesTree(rows []events.RowVersion) bool {
	for _, v := range rows {
		if v.Table == events.OrgTreeKind.Table {
			return true
		}
	}
	return false
}

func hasAll(have, more map[string]string) bool {
	for k := range more {
		if _, ok := have[k]; !ok {
			return false
		}
	}
	return true
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
	if errors.Is(err, jurisdiction.ErrBadRow) || errors.Is(err, jurisdiction.ErrBadTree) {
		return &BadRowError{Table: v.Table, ID: v.ID, Reason: err.Error()}
	}
	return err
}
