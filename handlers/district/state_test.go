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

// The gateway's notices change no row: the row changes when the national platform takes them.
func TestApplySkipsGatewayNotices(t *testing.T) {
	s := district.State{}
	if err := s.Apply("registration.upserted", []byte(`{"id":"R1","handler_id":null}`)); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"registration.signed", "initial_feedback.submitted", "final_feedback.submitted"} {
		if err := s.Apply(typ, []byte(`{"request_id":"gw-1","registration_id":"R1"}`)); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	if got := s.Count(); len(got) != 1 || got["registration"] != 1 || string(s["registration"]["R1"]) != `{"id":"R1","handler_id":null}` {
		t.Fatalf("after the notices: %v %s, want R1 alone and unchanged", got, s["registration"]["R1"])
	}
}
