package replay

import (
	"strings"
	"testing"
	"time"

	"hotline-bridge/events"
)

func TestMatcherFollowsARegistrationNumberToItsFamily(t *testing.T) {
	m := NewMatcher(Filter{RegNos: []string{"N1"}}, nil)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		v    events.RowVersion
		want bool
	}{
		{events.RowVersion{Table: events.Registration, ID: "R1", UpdateTime: at, Payload: []byte(`{"id":"R1","reg_no":"N1"}`)}, true},
		{events.RowVersion{Table: events.Registration, ID: "R2", UpdateTime: at, Payload: []byte(`{"id":"R2","reg_no":"N2"}`)}, false},
		{events.RowVersion{Table: events.Subject, ID: "S1", UpdateTime: at, Payload: []byte(`{"id":"S1","registration_id":"R1"}`)}, true},
		{events.RowVersion{Table: events.Subject, ID: "S2", UpdateTime: at, Payload: []byte(`{"id":"S2","registration_id":"R2"}`)}, false},
		{events.RowVersion{Table: events.Organization, ID: "O1", UpdateTime: at, Payload: []byte(`{"id":"O1"}`)}, false},
	} {
		if got := m.Match(c.v); got != c.want {
			t.Errorf("%s %s: match %t, want %t", c.v.Table, c.v.ID, got, c.want)
		}
	}
	if got := m.FamilyIDs(); len(got) != 1 || got[0] != "R1" {
		t.Errorf("family %v, want [R1] for the checkpoint", got)
	}
}

func TestFilterValidateReportsEveryProblem(t *testing.T) {
	later, earlier := time.Now(), time.Now().Add(-time.Hour)
	err := Filter{Units: []string{"nowhere"}, Tables: []string{"nothing"}, Since: &later, Until: &earlier}.Validate([]string{"420106"})
	for _, want := range []string{`--unit "nowhere"`, `--table "nothing"`, "is not before --until"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to say %s", err, want)
		}
	}
	if err := (Filter{RegNos: []string{"N1"}, Tables: []string{events.Organization}}).Validate(nil); err == nil {
		t.Error("a registration number with only organisations selects nothing and must be refused")
	}
}
