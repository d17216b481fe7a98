package seed

import (
	"math/rand/v2"
	"testing"
)

// Published examples: GB 11643's sample ID number and two real companies' codes.
func TestCheckCharactersMatchPublishedExamples(t *testing.T) {
	if !ValidIDCardNo("11010519491231002X") {
		t.Error("GB 11643 example 11010519491231002X rejected")
	}
	for _, code := range []string{"91350100M000100Y43", "91110000600037341L"} {
		if !ValidUSCC(code) {
			t.Errorf("USCC %s rejected", code)
		}
	}
	if ValidUSCC("91110000600037341X") || ValidIDCardNo("110105194912310021") {
		t.Error("a wrong check character was accepted")
	}
}

func TestGeneratedCodesAreValid(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		if id := idCardNo(r, "420106"); !ValidIDCardNo(id) || id[:6] != "420106" {
			t.Fatalf("idCardNo() = %s", id)
		}
		if code := uscc(r, "420111", r.IntN(2) == 0); !ValidUSCC(code) || code[2:8] != "420111" {
			t.Fatalf("uscc() = %s", code)
		}
	}
}

func TestTreeIDsAreUnique(t *testing.T) {
	tr := buildTree()
	if len(tr.byID) != len(tr.orgs) {
		t.Fatalf("%d organisations but %d distinct ids", len(tr.orgs), len(tr.byID))
	}
	for _, o := range tr.orgs {
		if o.id != rootID && tr.byID[o.parent] == nil {
			t.Errorf("%s: parent %q missing", o.id, o.parent)
		}
		if o.kind != orgNational && len(o.places) == 0 {
			t.Errorf("%s covers no place", o.id)
		}
	}
}
