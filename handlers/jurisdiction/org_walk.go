package jurisdiction

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"hotline-bridge/events"
)

// Org is one node of the national organisation tree, as far as jurisdiction needs it.
type Org struct{ ID, ParentID, DivisionCode string }

// OrgLookup reads the captured organisation tree. ok is false when the organisation has not been captured
// (yet): that parks the row rather than calling it not Wuhan's, since capture order is not guaranteed.
type OrgLookup interface {
	Org(id string) (org Org, ok bool)
}

// maxOrgDepth bounds the walk. The national tree is five levels deep (SAMR, province, city, district,
// station); anything far deeper is corrupt data, not a tree.
const maxOrgDepth = 32

// ErrBadTree marks an organisation tree that cannot be walked (a cycle, an absurd depth). It is an upstream
// data fault: the row may decide once a later organisation version repairs the tree.
var ErrBadTree = errors.New("bad organisation tree")

// OrgUnit returns the unit of an organisation: the first unit matched walking from it up through its
// parents, itself first. Reaching the root without a match means not Wuhan's.
func (u *Units) OrgUnit(id string, orgs OrgLookup) (Verdict, error) {
	var path []string
	for id != "" {
		if err := checkPath(path, id); err != nil {
			return Verdict{}, err
		}
		org, ok := orgs.Org(id)
		if !ok {
			return waiting(events.OrgTreeKind.Table, id), nil
		}
		org.ID = id // the key we walked by is the one the catalogue names
		if unit, ok := u.unitOfNode(org); ok {
			return local(unit), nil
		}
		path = append(path, id)
		id = org.ParentID
	}
	return notWuhan, nil
}

// checkPath refuses to step onto a node already walked or beyond maxOrgDepth.
func checkPath(path []string, next string) error {
	if i := slices.Index(path, next); i >= 0 {
		cycle := strings.Join(slices.Concat(path[i:], []string{next}), " → ")
		return fmt.Errorf("organization %s: parent cycle %s: %w", path[0], cycle, ErrBadTree)
	}
	if len(path) >= maxOrgDepth {
		return fmt.Errorf("organization %s: more than %d ancestors: %w", path[0], maxOrgDepth, ErrBadTree)
	}
	return nil
}

// selfFirst answers for the organisation row being decided before the caller's lookup does: a new
// organisation is not in the lookup yet, and a changed one (moved to another parent) is newer than it.
type selfFirst struct {
	self Org
	rest OrgLookup
}

func (s selfFirst) Org(id string) (Org, bool) {
	if id == s.self.ID {
		return s.self, true
	}
	return s.rest.Org(id)
}
