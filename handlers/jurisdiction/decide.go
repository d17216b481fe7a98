package jurisdiction

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"hotline-bridge/events"
)

// Row is a captured row: upstream column names → JSON-decoded values (string, float64, json.Number, bool, nil).
type Row map[string]any

// RegistrationLookup reads the units already decided for registrations. known is false when the
// registration has not been captured (yet); unit is "" when it is known and not Wuhan's.
type RegistrationLookup interface {
	RegistrationUnit(id string) (unit string, known bool)
}

// Columns of the organisation table that make an organisation row a node of the tree.
const (
	colID           = "id"
	colParentID     = "parent_id"
	colDivisionCode = "division_code"
)

// wuhanDivisionPrefix: GB/T 2260 codes of Wuhan and everything within it start with 4201.
const wuhanDivisionPrefix = "4201"

// Decide returns the verdict on one row of the given kind. The kind's catalogue fields say which columns
// decide, tried in order: OrgColumn, then RegistrationColumn, then DivisionColumn; the first non-empty one
// decides alone. A row whose deciding columns are all empty is not Wuhan's. Broadcast kinds go to every unit
// when national or Wuhan's. The error, naming the row, reports a bad row (ErrBadRow) or an organisation tree
// that cannot be walked (ErrBadTree).
func (u *Units) Decide(kind events.Kind, row Row, orgs OrgLookup, regs RegistrationLookup) (Verdict, error) {
	v, err := u.decide(kind, row, orgs, regs)
	if err != nil {
		id, _ := row.text(colID)
		return Verdict{}, fmt.Errorf("%s %s: %w", kind.Table, id, err)
	}
	return v, nil
}

func (u *Units) decide(kind events.Kind, row Row, orgs OrgLookup, regs RegistrationLookup) (Verdict, error) {
	if kind.Broadcast {
		return decideBroadcast(kind, row)
	}
	orgs, err := withSelf(kind, row, orgs)
	if err != nil {
		return Verdict{}, err
	}
	for _, col := range [...]string{kind.OrgColumn, kind.RegistrationColumn, kind.DivisionColumn} {
		if col == "" {
			continue
		}
		value, err := row.text(col)
		if err != nil {
			return Verdict{}, err
		}
		if value != "" {
			return u.decideBy(kind, col, value, orgs, regs)
		}
	}
	return notWuhan, nil
}

// decideBy decides by the first deciding column with a value: an organisation's unit, a work order's, or a
// division's. (A switch, not a list of closures: it runs for every national row.)
func (u *Units) decideBy(kind events.Kind, col, value string, orgs OrgLookup, regs RegistrationLookup) (Verdict, error) {
	var v Verdict
	var err error
	switch col {
	case kind.OrgColumn:
		v, err = u.OrgUnit(value, orgs)
		v.Rule = RuleOrg
	case kind.RegistrationColumn:
		v, err = registrationUnit(value, regs), nil
		v.Rule = RuleRegistration
	default:
		v, err = u.divisionUnit(kind.DivisionColumn, value)
		v.Rule = RuleDivision
	}
	return v, err
}

// withSelf makes the row a node of its own walk when the kind's OrgColumn is the row's own id (the
// organisation table).
func withSelf(kind events.Kind, row Row, orgs OrgLookup) (OrgLookup, error) {
	if kind.OrgColumn != colID {
		return orgs, nil
	}
	self, err := row.org()
	if err != nil {
		return nil, err
	}
	return selfFirst{self: self, rest: orgs}, nil
}

func registrationUnit(id string, regs RegistrationLookup) Verdict {
	unit, known := regs.RegistrationUnit(id)
	switch {
	case !known:
		return waiting(events.WorkOrderKind.Table, id)
	case unit == "":
		return notWuhan
	}
	return local(unit)
}

// divisionUnit is the last resort: a code outside the catalogue is not Wuhan's, but a malformed one is a bad
// row, because guessing would silently send a complaint to nobody.
func (u *Units) divisionUnit(col, code string) (Verdict, error) {
	if !isDivisionCode(code) {
		return Verdict{}, badRow("%s %q is not six digits", col, code)
	}
	if unit, ok := u.UnitOfDivision(code); ok {
		return local(unit), nil
	}
	return notWuhan, nil
}

// decideBroadcast: reference data (the dictionary) is Wuhan's when national (no division) or Wuhan's own,
// and every unit needs it.
func decideBroadcast(kind events.Kind, row Row) (Verdict, error) {
	code, err := row.text(kind.DivisionColumn)
	if err != nil {
		return Verdict{}, err
	}
	if code == "" || strings.HasPrefix(code, wuhanDivisionPrefix) {
		return broadcast, nil
	}
	return notWuhan, nil
}

// org reads an organisation row as a tree node.
func (r Row) org() (Org, error) {
	var o Org
	var err error
	if o.ID, err = r.text(colID); err != nil {
		return Org{}, err
	}
	if o.ParentID, err = r.text(colParentID); err != nil {
		return Org{}, err
	}
	o.DivisionCode, err = r.text(colDivisionCode)
	return o, err
}

// text reads a column as text; missing and NULL are "". Upstream ids and codes are text columns, but a JSON
// number is accepted since a driver or a replay may have decoded one.
func (r Row) text(col string) (string, error) {
	switch v := r[col].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	default:
		return "", badRow("%s is %T, not text", col, v)
	}
}
