package seed

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// liveTree is the organisation tree as the upstream has it now (Change moves stations around).
type liveTree struct {
	parent   map[string]string
	division map[string]string
	ids      []string // sorted
}

func loadLiveTree(ctx context.Context, tx pgx.Tx) (*liveTree, error) {
	rows, err := tx.Query(ctx, `SELECT id, coalesce(parent_id, ''), coalesce(division_code, '')
		FROM organization WHERE NOT is_deleted ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load organisations: %w", err)
	}
	defer rows.Close()
	lt := &liveTree{parent: map[string]string{}, division: map[string]string{}}
	for rows.Next() {
		var id, parent, division string
		if err := rows.Scan(&id, &parent, &division); err != nil {
			return nil, fmt.Errorf("scan organisation: %w", err)
		}
		lt.parent[id], lt.division[id] = parent, division
		lt.ids = append(lt.ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load organisations: %w", err)
	}
	return lt, nil
}

// path returns id and its ancestors, nearest first; a cycle ends it.
func (lt *liveTree) path(id string) []string {
	var out []string
	for id != "" && !slices.Contains(out, id) {
		out = append(out, id)
		id = lt.parent[id]
	}
	return out
}

func (lt *liveTree) under(id, ancestor string) bool {
	return id != ancestor && slices.Contains(lt.path(id), ancestor)
}

// group is the organisation directly under ancestor on id's path: the district or zone bureau of a Wuhan unit.
func (lt *liveTree) group(id, ancestor string) string {
	p := lt.path(id)
	if i := slices.Index(p, ancestor); i > 0 {
		return p[i-1]
	}
	return ""
}

// divisionOf is the code a registration handled by id carries: the nearest division code up the tree, none
// inside a Wuhan functional zone.
func (lt *liveTree) divisionOf(id string) string {
	for _, o := range lt.path(id) {
		if strings.HasPrefix(o, "ORG-WH-") {
			return ""
		}
		if d := lt.division[o]; d != "" {
			return d
		}
	}
	return ""
}

// units lists the organisations under ancestor (and ancestor itself when self) that keep accepts.
func (lt *liveTree) units(ancestor string, self bool, keep func(id string) bool) []string {
	var out []string
	for _, id := range lt.ids {
		if (lt.under(id, ancestor) || self && id == ancestor) && (keep == nil || keep(id)) {
			out = append(out, id)
		}
	}
	return out
}

func isStation(id string) bool {
	i := strings.LastIndex(id, "-S")
	return i > 0 && len(id)-i == 4
}

func isDepartment(id string) bool {
	i := strings.LastIndex(id, "-D")
	return i > 0 && len(id)-i == 4
}
