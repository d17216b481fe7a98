package district_test

import (
	"testing"

	"hotline-bridge/handlers/district"
)

func TestApplyFollowsTheContract(t *testing.T) {
	s := district.State{}
	steps := []struct{ typ, value string }{
		{"registration.upserted", `{"id":"R1","status":"new"}`},
		{"subject.upserted", `{"id":"S1"}`},
		{"registration.upserted", `{"id":"R1","status":"done"}`},
		{"registration.upserted", `{"id":"R1","status":"done"}`}, // delivered twice
		{"subject.deleted", `{"id":"S1","is_deleted":true}`},
		{"info_provider.upserted", `{"id":"I1"}`},
		{"info_provider.removed", `{"id":"I1","unit_code":"420102"}`},
	}
	for _, st := range steps {
		if err := s.Apply(st.typ, []byte(st.value)); err != nil {
			t.Fatal(err)
		}
	}
	if got := string(s["registration"]["R1"]); got != `{"id":"R1","status":"done"}` {
		t.Fatalf("R1 = %s", got)
	}
	if got := string(s["subject"]["S1"]); got != `{"id":"S1","is_deleted":true}` {
		t.Fatalf("soft-deleted S1 = %s, want it kept with is_deleted", got)
	}
	if _, ok := s["info_provider"]["I1"]; ok {
		t.Fatal("removed I1 still present")
	}
	if err := s.Apply("registration", []byte(`{"id":"x"}`)); err == nil {
		t.Fatal("a malformed event type was accepted")
	}
}
