package jurisdiction_test

import (
	"slices"
	"strings"
	"testing"

	"hotline-bridge/handlers/jurisdiction"
)

func TestDefaultUnits(t *testing.T) {
	units := jurisdiction.DefaultUnits()
	want := []string{
		"420102", "420103", "420104", "420105", "420106", "420107", "420111", "420112", "420113",
		"420114", "420115", "420116", "420117", "dhgx", "whkf", "dhfj", "cjxq", "city",
	}
	if got := units.Codes(); !slices.Equal(got, want) {
		t.Fatalf("Codes() = %v, want %v (18 units in catalogue order)", got, want)
	}
	unit, ok := units.Get("dhgx")
	if !ok || unit.Name != "东湖新技术开发区" || !slices.Equal(unit.OrgIDs, []string{"ORG-WH-DHGX"}) {
		t.Errorf("Get(dhgx) = %+v, %v", unit, ok)
	}
	if _, ok := units.Get("420118"); ok {
		t.Error("Get(420118) found a unit; zones are not identified by improvised codes")
	}
}

func TestUnitOfDivision(t *testing.T) {
	units := jurisdiction.DefaultUnits()
	tests := []struct {
		code, want string
		ok         bool
	}{
		{"420106", "420106", true},
		{"420117", "420117", true},
		{"420100", "city", true},
		{"420118", "", false}, // improvised zone code
		{"420202", "", false}, // 黄石
		{"420000", "", false}, // the province
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := units.UnitOfDivision(tt.code)
		if got != tt.want || ok != tt.ok {
			t.Errorf("UnitOfDivision(%q) = %q, %v; want %q, %v", tt.code, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseUnits(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr []string // every message must be present; nil = valid
	}{
		{"minimal valid", `
units:
  - code: "420106"
    name: 武昌区
    division_codes: ["420106"]
  - code: dhgx
    name: 东湖新技术开发区
    org_ids: ["ORG-WH-DHGX"]
`, nil},
		{"every problem at once", `
units:
  - code: "420106"
    name: 武昌区
    division_codes: ["420106"]
  - code: "420106"
    name: 武昌区again
    division_codes: ["420106"]
  - code: ""
    name: nameless code
    org_ids: ["ORG-A"]
  - code: Dhgx
    name: 东湖新技术开发区
    org_ids: ["ORG-A"]
  - code: "wh-kf"
    name: ""
  - code: dhfj
    name: 东湖生态旅游风景区
    division_codes: ["4201", "42011x"]
    colour: green
`, []string{
			`unit 1 ("420106"): duplicate code, first used by unit 0`,
			`unit 1 ("420106"): division code 420106 is also claimed by unit 0 ("420106")`,
			`unit 2 (""): empty code`,
			`unit 3 ("Dhgx"): code must match [a-z0-9]+`,
			`unit 3 ("Dhgx"): org id ORG-A is also claimed by unit 2 ("")`,
			`unit 4 ("wh-kf"): code must match [a-z0-9]+`,
			`unit 4 ("wh-kf"): empty name`,
			`unit 4 ("wh-kf"): neither org_ids nor division_codes`,
			`unit 5 ("dhfj"): division code "4201" is not six digits`,
			`unit 5 ("dhfj"): division code "42011x" is not six digits`,
			`unit 5 ("dhfj"): line 20: field colour not found`,
		}},
		{"unknown top-level field", `
units:
  - code: city
    name: 武汉市市场监督管理局
    division_codes: ["420100"]
unitz: []
`, []string{"line 6: field unitz not found"}},
		{"reserved code", `
units:
  - code: broadcast
    name: 全部
    division_codes: ["420100"]
`, []string{`unit 0 ("broadcast"): code "broadcast" is reserved`}},
		{"no units", "units: []\n", []string{"no units"}},
		{"empty document", "", []string{"empty document"}},
		{"not YAML", "units: [\n", []string{"unit catalogue:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			units, err := jurisdiction.ParseUnits([]byte(tt.yaml))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ParseUnits: %v", err)
				}
				if len(units.Codes()) == 0 {
					t.Error("valid catalogue parsed to no units")
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseUnits accepted an invalid catalogue: %v", units.Codes())
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q; got:\n%v", want, err)
				}
			}
		})
	}
}

// TestGetReturnsACopy: the catalogue is shared between goroutines, so callers must not be able to change it.
func TestGetReturnsACopy(t *testing.T) {
	units := jurisdiction.DefaultUnits()
	unit, _ := units.Get("dhgx")
	unit.OrgIDs[0] = "ORG-CHANGED"
	if again, _ := units.Get("dhgx"); again.OrgIDs[0] != "ORG-WH-DHGX" {
		t.Errorf("Get exposed the catalogue's slice: now %v", again.OrgIDs)
	}
}
