package jurisdiction

import (
	"errors"
	"fmt"
)

// Verdict is the decision on one row.
type Verdict struct {
	Unit      string      // unit code; "" when not Wuhan's, broadcast or undecided
	Broadcast bool        // goes to every unit
	Wuhan     bool        // whether the row belongs to Wuhan at all
	Waiting   *Dependency // non-nil: undecided, park the row until this parent arrives
	Rule      string      // which rule decided (RuleOrg …); "" when no deciding column had a value
}

// Rules a verdict comes from, as the audit trail names them.
const (
	RuleOrg          = "org"          // the row's organisation column, walked up the tree
	RuleRegistration = "registration" // the unit of the work order the row belongs to
	RuleDivision     = "division"     // a GB/T 2260 division code matched against the units
	RuleBroadcast    = "broadcast"    // reference data every unit receives
)

// Dependency names the parent row an undecided row waits for.
type Dependency struct{ Table, ID string }

func (d Dependency) String() string { return "waiting for " + d.Table + " " + d.ID }

// Verdicts other than a unit's.
var (
	notWuhan  = Verdict{}
	broadcast = Verdict{Broadcast: true, Wuhan: true, Rule: RuleBroadcast}
)

func local(unit string) Verdict { return Verdict{Unit: unit, Wuhan: true} }

func waiting(table, id string) Verdict { return Verdict{Waiting: &Dependency{Table: table, ID: id}} }

// Decided reports whether the verdict is final; an undecided row is parked, not dropped.
func (v Verdict) Decided() bool { return v.Waiting == nil }

func (v Verdict) String() string {
	switch {
	case v.Waiting != nil:
		return "undecided: " + v.Waiting.String()
	case v.Broadcast:
		return "broadcast"
	case v.Wuhan:
		return "unit " + v.Unit
	}
	return "not Wuhan's"
}

// ErrBadRow marks a row whose deciding columns cannot be read; the reason is in the wrapping message. Retrying
// will not help: only a corrected version of the row will.
var ErrBadRow = errors.New("bad row")

func badRow(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrBadRow)
}
