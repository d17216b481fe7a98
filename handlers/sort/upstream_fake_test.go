package sort_test

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"sync"

	"hotline-bridge/events"
	"hotline-bridge/handlers/sort"
)

var _ sort.Upstream = (*fakeUpstream)(nil)

type rowKey struct{ Table, ID string }

// fakeUpstream is the national platform's current rows: the newest version of each, whether captured or not.
// It stands in for the national platform, not for the store: the sorter only ever asks it for current rows.
type fakeUpstream struct {
	mu   sync.Mutex
	rows map[rowKey]events.RowVersion
}

func (u *fakeUpstream) set(v events.RowVersion) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.rows[rowKey{v.Table, v.ID}] = v
}

// Referencing returns, ordered by id, the current rows of table whose column holds one of ids.
func (u *fakeUpstream) Referencing(ctx context.Context, table, column string, ids []string) ([]events.RowVersion, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []events.RowVersion
	for k, v := range u.rows {
		var row map[string]any
		if k.Table != table || json.Unmarshal(v.Payload, &row) != nil {
			continue
		}
		if ref, _ := row[column].(string); slices.Contains(ids, ref) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b events.RowVersion) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
