package events

import (
	"slices"
	"testing"
)

// The sorter keeps no ledger entry for a row of a kind that follows its work order while its family is elsewhere,
// and source reconciliation compares those kinds by Wuhan's families: a kind that gains a column of its own that
// decides (a case's filing organisation) must leave the set, and so must a kind others depend on.
func TestTheKindsThatFollowTheirWorkOrderAreTheFamilyDecidedByItAlone(t *testing.T) {
	var got []string
	for _, k := range Catalogue {
		if k.FollowsWorkOrder() {
			got = append(got, k.Table)
		}
	}
	want := []string{InfoProvider, Subject, Object, InitialFeedback, FinalFeedback, Mediation}
	if !slices.Equal(got, want) {
		t.Errorf("kinds that follow their work order: %v, want %v", got, want)
	}
	for _, k := range []Kind{WorkOrderKind, OrgTreeKind, {Table: "x", RegistrationColumn: "registration_id", Broadcast: true}} {
		if k.FollowsWorkOrder() {
			t.Errorf("%s follows its work order, want not", k.Table)
		}
	}
}
