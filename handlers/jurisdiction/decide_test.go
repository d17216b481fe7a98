package jurisdiction_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// decideCase is one row of one kind and the verdict (Verdict.String()) or error it must get.
type decideCase struct {
	name    string
	table   string
	row     jurisdiction.Row
	want    string
	wantErr string // non-empty: Decide must fail with ErrBadRow and this text
}

// registrations already decided: R-WC is 武昌's, R-DHGX the zone's, R-HS 黄石's (not Wuhan's).
var registrations = regMap{"R-WC": "420106", "R-DHGX": "dhgx", "R-HS": ""}

var decideCases = []decideCase{
	// organization: its own unit, the row itself being the first node.
	{"organization station", events.Organization, org("ORG-420106-S03", "ORG-420106", nil), "unit 420106", ""},
	{"organization not captured yet decides by itself", events.Organization, org("ORG-WH-CJXQ", "ORG-420100", nil), "unit cjxq", ""},
	{"organization row is newer than the lookup", events.Organization, org("ORG-420106-S03", "ORG-420202", nil), "not Wuhan's", ""},
	{"organization new station under a zone", events.Organization, org("ORG-WH-DHGX-S09", "ORG-WH-DHGX", nil), "unit dhgx", ""},
	{"organization 黄石", events.Organization, org("ORG-420202", "ORG-420200", "420202"), "not Wuhan's", ""},
	{"organization parent not captured", events.Organization, org("ORG-420111-S02", "ORG-420111", nil), "undecided: waiting for organization ORG-420111", ""},

	// personnel: the unit of org_id.
	{"personnel in a district station", events.Personnel, row("org_id", "ORG-420106-S03"), "unit 420106", ""},
	{"personnel in a city department", events.Personnel, row("org_id", "ORG-420100-D02"), "unit city", ""},
	{"personnel org not captured", events.Personnel, row("org_id", "ORG-X"), "undecided: waiting for organization ORG-X", ""},
	{"personnel without org", events.Personnel, row("org_id", nil), "not Wuhan's", ""},

	// dictionary: broadcast when national or Wuhan's.
	{"dictionary national (NULL)", events.Dictionary, row("division_code", nil), "broadcast", ""},
	{"dictionary national (empty)", events.Dictionary, row("division_code", ""), "broadcast", ""},
	{"dictionary Wuhan city", events.Dictionary, row("division_code", "420100"), "broadcast", ""},
	{"dictionary Wuhan district", events.Dictionary, row("division_code", "420106"), "broadcast", ""},
	{"dictionary 黄石", events.Dictionary, row("division_code", "420202"), "not Wuhan's", ""},

	// registration: handle_dept_id, else division_code.
	{"registration handled by a zone station", events.Registration, row("handle_dept_id", "ORG-WH-DHGX-S01", "division_code", "420111"), "unit dhgx", ""},
	{"registration handled in 黄石 despite a Wuhan code", events.Registration, row("handle_dept_id", "ORG-420202-S01", "division_code", "420106"), "not Wuhan's", ""},
	{"registration handler not captured", events.Registration, row("handle_dept_id", "ORG-420111-S01"), "undecided: waiting for organization ORG-420111", ""},
	{"registration NULL handler, Wuhan district code", events.Registration, row("handle_dept_id", nil, "division_code", "420111"), "unit 420111", ""},
	{"registration empty handler, city code", events.Registration, row("handle_dept_id", "", "division_code", "420100"), "unit city", ""},
	{"registration NULL handler, 黄石 code", events.Registration, row("handle_dept_id", nil, "division_code", "420202"), "not Wuhan's", ""},
	{"registration NULL handler, improvised zone code", events.Registration, row("division_code", "420118"), "not Wuhan's", ""},
	{"registration NULL handler, malformed code", events.Registration, row("handle_dept_id", nil, "division_code", "4201"), "", `registration R-1: division_code "4201" is not six digits`},
	{"registration NULL handler, letters in code", events.Registration, row("division_code", "42O106"), "", `division_code "42O106" is not six digits`},
	{"registration nothing to decide by", events.Registration, row("handle_dept_id", nil, "division_code", nil), "not Wuhan's", ""},
	{"registration handler id of the wrong type", events.Registration, row("handle_dept_id", true), "", "handle_dept_id is bool, not text"},
	{"registration division as a JSON number", events.Registration, row("division_code", json.Number("420106")), "unit 420106", ""},
	{"registration division as a float", events.Registration, row("division_code", float64(420107)), "unit 420107", ""},

	// case_info: filing_org_id, else the registration.
	{"case_info by filing org", events.CaseInfo, row("filing_org_id", "ORG-WH-DHGX", "registration_id", "R-WC"), "unit dhgx", ""},
	{"case_info filing org in 黄石, Wuhan registration", events.CaseInfo, row("filing_org_id", "ORG-420202", "registration_id", "R-WC"), "not Wuhan's", ""},
	{"case_info filing org not captured", events.CaseInfo, row("filing_org_id", "ORG-X", "registration_id", "R-WC"), "undecided: waiting for organization ORG-X", ""},
	{"case_info NULL filing org falls back to registration", events.CaseInfo, row("filing_org_id", nil, "registration_id", "R-WC"), "unit 420106", ""},
	{"case_info empty filing org, registration not captured", events.CaseInfo, row("filing_org_id", "", "registration_id", "R-NEW"), "undecided: waiting for registration R-NEW", ""},
	{"case_info nothing to decide by", events.CaseInfo, row("filing_org_id", nil, "registration_id", nil), "not Wuhan's", ""},

	// supervision: supervised_org_id, else the registration.
	{"supervision by supervised org", events.Supervision, row("supervised_org_id", "ORG-420100-D02", "registration_id", "R-WC"), "unit city", ""},
	{"supervision NULL org falls back to registration", events.Supervision, row("supervised_org_id", nil, "registration_id", "R-DHGX"), "unit dhgx", ""},
	{"supervision NULL org, 黄石 registration", events.Supervision, row("supervised_org_id", nil, "registration_id", "R-HS"), "not Wuhan's", ""},
	{"supervision NULL org, registration not captured", events.Supervision, row("registration_id", "R-NEW"), "undecided: waiting for registration R-NEW", ""},

	// Organisation-tree faults surface through Decide, naming the row.
	{"personnel in a cycle", events.Personnel, row("org_id", "ORG-LOOP-A"), "", "personnel R-1: organization ORG-LOOP-A: parent cycle"},
}

// registrationFamily: the six kinds that take their registration's unit.
var registrationFamily = []string{
	events.InfoProvider, events.Subject, events.Object, events.InitialFeedback, events.FinalFeedback, events.Mediation,
}

func init() {
	for _, table := range registrationFamily {
		decideCases = append(decideCases,
			decideCase{table + " of a Wuhan registration", table, row("registration_id", "R-WC"), "unit 420106", ""},
			decideCase{table + " of a zone registration", table, row("registration_id", "R-DHGX"), "unit dhgx", ""},
			decideCase{table + " of a 黄石 registration", table, row("registration_id", "R-HS"), "not Wuhan's", ""},
			decideCase{table + " before its registration", table, row("registration_id", "R-NEW"), "undecided: waiting for registration R-NEW", ""},
			decideCase{table + " without registration", table, row("registration_id", nil), "not Wuhan's", ""},
		)
	}
}

func TestDecide(t *testing.T) {
	units, tree := jurisdiction.DefaultUnits(), referenceTree()
	for _, tt := range decideCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := units.Decide(mustKind(t, tt.table), tt.row, tree, registrations)
			if tt.wantErr != "" {
				assertError(t, got, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got.String() != tt.want {
				t.Errorf("Decide = %s, want %s", got, tt.want)
			}
			assertConsistent(t, got)
		})
	}
}

// TestDecideCoversCatalogue keeps the table honest: a thirteenth kind needs its own cases.
func TestDecideCoversCatalogue(t *testing.T) {
	covered := map[string]bool{}
	for _, tt := range decideCases {
		covered[tt.table] = true
	}
	for _, k := range events.Catalogue {
		if !covered[k.Table] {
			t.Errorf("no Decide case for kind %s", k.Table)
		}
	}
}

func TestVerdictFields(t *testing.T) {
	units, tree := jurisdiction.DefaultUnits(), referenceTree()
	tests := []struct {
		name  string
		table string
		row   jurisdiction.Row
		want  jurisdiction.Verdict
	}{
		{"unit", events.Personnel, row("org_id", "ORG-420106"), jurisdiction.Verdict{Unit: "420106", Wuhan: true, Rule: jurisdiction.RuleOrg}},
		{"broadcast", events.Dictionary, row("division_code", nil), jurisdiction.Verdict{Broadcast: true, Wuhan: true, Rule: jurisdiction.RuleBroadcast}},
		{"not Wuhan's", events.Personnel, row("org_id", "ORG-420202"), jurisdiction.Verdict{Rule: jurisdiction.RuleOrg}},
		{"waiting", events.Subject, row("registration_id", "R-NEW"),
			jurisdiction.Verdict{Waiting: &jurisdiction.Dependency{Table: events.Registration, ID: "R-NEW"}, Rule: jurisdiction.RuleRegistration}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := units.Decide(mustKind(t, tt.table), tt.row, tree, registrations)
			if err != nil {
				t.Fatal(err)
			}
			if got.Unit != tt.want.Unit || got.Broadcast != tt.want.Broadcast || got.Wuhan != tt.want.Wuhan ||
				got.Rule != tt.want.Rule ||
				(got.Waiting == nil) != (tt.want.Waiting == nil) || (got.Waiting != nil && *got.Waiting != *tt.want.Waiting) {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func assertError(t *testing.T, got jurisdiction.Verdict, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Decide = %s, want error %q", got, want)
	}
	if !errors.Is(err, jurisdiction.ErrBadRow) && !errors.Is(err, jurisdiction.ErrBadTree) {
		t.Errorf("error %v is neither ErrBadRow nor ErrBadTree", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

// assertConsistent checks the verdict's fields agree with each other.
func assertConsistent(t *testing.T, v jurisdiction.Verdict) {
	t.Helper()
	if v.Waiting != nil && (v.Wuhan || v.Unit != "" || v.Broadcast) {
		t.Errorf("undecided verdict %+v claims a decision", v)
	}
	if (v.Unit != "" || v.Broadcast) != v.Wuhan {
		t.Errorf("verdict %+v: Wuhan disagrees with Unit/Broadcast", v)
	}
	if v.Unit != "" {
		if _, ok := jurisdiction.DefaultUnits().Get(v.Unit); !ok {
			t.Errorf("verdict names unknown unit %q", v.Unit)
		}
	}
}

func mustKind(t *testing.T, table string) events.Kind {
	t.Helper()
	k, ok := events.KindByTable(table)
	if !ok {
		t.Fatalf("no kind %s in events.Catalogue", table)
	}
	return k
}

// row builds a Row with id R-1 from column/value pairs.
func row(pairs ...any) jurisdiction.Row {
	r := jurisdiction.Row{"id": "R-1"}
	for i := 0; i+1 < len(pairs); i += 2 {
		r[pairs[i].(string)] = pairs[i+1]
	}
	return r
}

// org builds an organisation row.
func org(id, parent string, division any) jurisdiction.Row {
	return jurisdiction.Row{"id": id, "parent_id": parent, "division_code": division, "name": "测试"}
}
