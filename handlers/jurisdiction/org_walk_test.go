package jurisdiction_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"hotline-bridge/handlers/jurisdiction"
)

func TestOrgUnit(t *testing.T) {
	units := jurisdiction.DefaultUnits()
	tree := referenceTree()
	tests := []struct {
		name, org string
		want      string // Verdict.String()
	}{
		{"district bureau by division code", "ORG-420106", "unit 420106"},
		{"station under a district bureau", "ORG-420106-S03", "unit 420106"},
		{"zone bureau by org id, no division code", "ORG-WH-DHGX", "unit dhgx"},
		{"station under a zone", "ORG-WH-DHGX-S01", "unit dhgx"},
		{"org id wins over an improvised division code", "ORG-WH-WHKF", "unit whkf"},
		{"city bureau", "ORG-420100", "unit city"},
		{"city department", "ORG-420100-D02", "unit city"},
		{"province bureau is above Wuhan", "ORG-420000", "not Wuhan's"},
		{"national root", "ORG-SAMR", "not Wuhan's"},
		{"黄石 district bureau", "ORG-420202", "not Wuhan's"},
		{"黄石 station", "ORG-420202-S01", "not Wuhan's"},
		{"unknown intermediate node", "ORG-420111-S01", "undecided: waiting for organization ORG-420111"},
		{"the organisation itself unknown", "ORG-NEW", "undecided: waiting for organization ORG-NEW"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := units.OrgUnit(tt.org, tree)
			if err != nil {
				t.Fatalf("OrgUnit(%s): %v", tt.org, err)
			}
			if got.String() != tt.want {
				t.Errorf("OrgUnit(%s) = %s, want %s", tt.org, got, tt.want)
			}
		})
	}
}

func TestOrgUnitBadTree(t *testing.T) {
	deep := orgMap{}
	for i := range 100 {
		id := fmt.Sprintf("ORG-DEEP-%d", i)
		deep[id] = jurisdiction.Org{ID: id, ParentID: fmt.Sprintf("ORG-DEEP-%d", i+1)}
	}
	tests := []struct {
		name, org string
		tree      orgMap
		wantMsg   string
	}{
		{"cycle", "ORG-LOOP-A", referenceTree(), "parent cycle ORG-LOOP-A → ORG-LOOP-B → ORG-LOOP-A"},
		{"self parent", "ORG-SELF", orgMap{"ORG-SELF": {ID: "ORG-SELF", ParentID: "ORG-SELF"}}, "parent cycle ORG-SELF → ORG-SELF"},
		{"absurd depth", "ORG-DEEP-0", deep, "more than 32 ancestors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jurisdiction.DefaultUnits().OrgUnit(tt.org, tt.tree)
			if !errors.Is(err, jurisdiction.ErrBadTree) {
				t.Fatalf("OrgUnit(%s) = %s, %v; want ErrBadTree", tt.org, got, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}
