package access_test

import (
	"slices"
	"testing"

	"hotline-bridge/handlers/access"
)

func TestPlanCreatesWhatIsMissingAndRemovesWhatNoUnitNeeds(t *testing.T) {
	desired := access.Desired("wuhan12315", []string{"420102", "420106"})
	if len(desired) != 16 {
		t.Fatalf("%d rules for two units, want 8 each: %v", len(desired), desired)
	}
	keys := access.Rule{Principal: "User:unit-420102", Resource: "Topic", Pattern: "Literal", Name: "wuhan12315.keys",
		Operation: "Read", Permission: "Allow", Host: "*"}
	if !slices.Contains(desired, keys) {
		t.Fatalf("no rule %v to read the public signing keys in %v", keys, desired)
	}
	want := access.Rule{Principal: "User:unit-420106", Resource: "Group", Pattern: "Prefixed", Name: "wuhan12315.420106.",
		Operation: "Read", Permission: "Allow", Host: "*"}
	if !slices.Contains(desired, want) {
		t.Fatalf("no group rule %v in %v", want, desired)
	}
	gone := access.Desired("wuhan12315", []string{"420199"})
	foreign := access.Rule{Principal: "User:audit-reader", Resource: "Topic", Pattern: "Literal", Name: "wuhan12315.audit",
		Operation: "Read", Permission: "Allow", Host: "*"}
	existing := append(append(slices.Clone(desired[:8]), gone...), foreign)
	users := []string{"bridge", "unit-420102", "unit-420199"}

	plan := access.NewPlan(desired, existing, []string{"420102", "420106"}, users, []string{"420102"})
	if plan.Kept != 8 || !slices.Equal(plan.Create, desired[8:]) || !slices.Equal(plan.Delete, gone) {
		t.Fatalf("kept %d, create %v, delete %v; want 8 kept, the rest created, the gone unit's deleted", plan.Kept, plan.Create, plan.Delete)
	}
	if !slices.Equal(plan.NewUsers, []string{"420102", "420106"}) || !slices.Equal(plan.Rotated, []string{"420102"}) ||
		!slices.Equal(plan.RemoveUsers, []string{"unit-420199"}) {
		t.Fatalf("users: new %v, rotated %v, removed %v", plan.NewUsers, plan.Rotated, plan.RemoveUsers)
	}
	again := access.NewPlan(desired, append(slices.Clone(desired), foreign), []string{"420102", "420106"},
		[]string{"bridge", "unit-420102", "unit-420106"}, nil)
	if !again.Empty() || again.Kept != 16 {
		t.Fatalf("applied already, the plan must be empty: %+v", again)
	}
}
