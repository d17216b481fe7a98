package jurisdiction

import (
	"slices"
	"sync"

	"hotline-bridge/schemas"
)

// Unit is one distribution unit: a district, a functional zone or the city bureau.
type Unit struct {
	Code          string   `yaml:"code"` // part of Kafka topic names: [a-z0-9]+
	Name          string   `yaml:"name"`
	OrgIDs        []string `yaml:"org_ids"`        // organisations that are this unit's, with everything below them
	DivisionCodes []string `yaml:"division_codes"` // GB/T 2260 codes that are this unit's
}

// Units is a validated unit catalogue. It is immutable once parsed, so one value may be shared by goroutines.
type Units struct {
	list       []Unit
	byCode     map[string]int
	byOrg      map[string]string // org id → unit code
	byDivision map[string]string // division code → unit code
}

func newUnits(list []Unit) *Units {
	u := &Units{list: list, byCode: map[string]int{}, byOrg: map[string]string{}, byDivision: map[string]string{}}
	for i, unit := range list {
		u.byCode[unit.Code] = i
		for _, id := range unit.OrgIDs {
			u.byOrg[id] = unit.Code
		}
		for _, code := range unit.DivisionCodes {
			u.byDivision[code] = unit.Code
		}
	}
	return u
}

// defaultUnits parses the embedded catalogue once; it is a build-time constant covered by tests, so failing
// to parse it is a programming error, like a bad regexp.MustCompile pattern.
var defaultUnits = sync.OnceValue(func() *Units {
	u, err := ParseUnits(schemas.Units)
	if err != nil {
		panic("embedded schemas/units.yaml: " + err.Error())
	}
	return u
})

// DefaultUnits returns the embedded catalogue (schemas/units.yaml): 13 districts, 4 zones and the city.
func DefaultUnits() *Units { return defaultUnits() }

// Codes lists the unit codes in catalogue order.
func (u *Units) Codes() []string {
	codes := make([]string, len(u.list))
	for i, unit := range u.list {
		codes[i] = unit.Code
	}
	return codes
}

// Get returns the unit with the given code. The copy is the caller's to modify.
func (u *Units) Get(code string) (Unit, bool) {
	i, ok := u.byCode[code]
	if !ok {
		return Unit{}, false
	}
	unit := u.list[i]
	unit.OrgIDs = slices.Clone(unit.OrgIDs)
	unit.DivisionCodes = slices.Clone(unit.DivisionCodes)
	return unit, true
}

// UnitOfDivision returns the unit claiming a GB/T 2260 division code.
func (u *Units) UnitOfDivision(code string) (string, bool) {
	unit, ok := u.byDivision[code]
	return unit, ok
}

// unitOfNode matches one organisation node. The org id is checked first: it is the more specific key, and a
// zone bureau may carry an improvised division code (domain.md) that must not decide for it.
func (u *Units) unitOfNode(org Org) (string, bool) {
	if unit, ok := u.byOrg[org.ID]; ok {
		return unit, true
	}
	if org.DivisionCode == "" {
		return "", false
	}
	return u.UnitOfDivision(org.DivisionCode)
}
