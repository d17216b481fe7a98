package sort

import (
	"context"
	"maps"
	"sync"

	"hotline-bridge/handlers/jurisdiction"
)

// treeCache is the committed organisation tree, kept in memory so that walking it costs no query. Its version
// is the store's tree version it reflects. Every batch checks it against the store (after taking its locks) and
// reloads when another batch or another bridge instance changed the tree, so it is never trusted blindly.
type treeCache struct {
	mu      sync.Mutex
	version int64 // -1: not loaded
	orgs    map[string]jurisdiction.Org
}

func newTreeCache() *treeCache { return &treeCache{version: -1} }

// snapshot is the tree as cached now. The map is never modified in place, so it can be read without the lock.
func (c *treeCache) snapshot() (int64, map[string]jurisdiction.Org) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version, c.orgs
}

func (c *treeCache) load(ctx context.Context, tx Tx) (int64, map[string]jurisdiction.Org, error) {
	version, orgs, err := tx.Tree(ctx)
	if err != nil {
		return 0, nil, err
	}
	tree := make(map[string]jurisdiction.Org, len(orgs))
	for _, o := range orgs {
		tree[o.ID] = o
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if version >= c.version {
		c.version, c.orgs = version, tree
	}
	return version, tree, nil
}

// committed takes a batch's tree changes once it committed them as version: applied in place of a reload when
// the cache held the version they were made on, else the cache is left to reload.
func (c *treeCache) committed(version int64, changed map[string]jurisdiction.Org) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != version-1 {
		c.version = -1
		return
	}
	orgs := maps.Clone(c.orgs)
	maps.Copy(orgs, changed)
	c.version, c.orgs = version, orgs
}

// treeView is the tree as one batch sees it: the cached tree under the batch's own changes.
type treeView struct {
	version int64
	base    map[string]jurisdiction.Org
	changed map[string]jurisdiction.Org
}

// Org implements jurisdiction.OrgLookup.
func (t *treeView) Org(id string) (jurisdiction.Org, bool) {
	if o, ok := t.changed[id]; ok {
		return o, true
	}
	o, ok := t.base[id]
	return o, ok
}

// save records an organisation; moved reports a known one that changed parent or division. undo restores the
// view as it was.
func (t *treeView) save(o jurisdiction.Org) (moved bool, undo func()) {
	old, known := t.Org(o.ID)
	if known && old == o {
		return false, func() {}
	}
	if t.changed == nil {
		t.changed = map[string]jurisdiction.Org{}
	}
	before, hadChange := t.changed[o.ID]
	t.changed[o.ID] = o
	return known, func() {
		if hadChange {
			t.changed[o.ID] = before
		} else {
			delete(t.changed, o.ID)
		}
	}
}

// path lists the known organisations from id up to the root, id first; it stops at an unknown one, a cycle or
// an absurd depth (the jurisdiction walk reports those).
func (t *treeView) path(id string) []string {
	var ids []string
	seen := map[string]bool{}
	for id != "" && !seen[id] && len(ids) < 64 {
		o, ok := t.Org(id)
		if !ok {
			break
		}
		seen[id] = true
		ids = append(ids, id)
		id = o.ParentID
	}
	return ids
}

// descendants lists every organisation below id. Moves are rare, so it indexes the whole tree when asked.
func (t *treeView) descendants(id string) []string {
	children := map[string][]string{}
	add := func(o jurisdiction.Org) {
		if o.ParentID != "" {
			children[o.ParentID] = append(children[o.ParentID], o.ID)
		}
	}
	for _, o := range t.base {
		if _, overridden := t.changed[o.ID]; !overridden {
			add(o)
		}
	}
	for _, o := range t.changed {
		add(o)
	}
	var below []string
	seen := map[string]bool{id: true}
	for queue := children[id]; len(queue) > 0; queue = queue[1:] {
		if c := queue[0]; !seen[c] {
			seen[c] = true
			below = append(below, c)
			queue = append(queue, children[c]...)
		}
	}
	return below
}
