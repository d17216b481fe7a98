package jurisdiction_test

import "hotline-bridge/handlers/jurisdiction"

// orgMap is an in-memory organisation tree; absent ids are "not captured yet".
type orgMap map[string]jurisdiction.Org

func (m orgMap) Org(id string) (jurisdiction.Org, bool) {
	o, ok := m[id]
	return o, ok
}

// regMap holds registration id → decided unit ("" = known, not Wuhan's); absent ids are not captured yet.
type regMap map[string]string

func (m regMap) RegistrationUnit(id string) (string, bool) {
	u, ok := m[id]
	return u, ok
}

// referenceTree mirrors docs/reference-org-tree.md, plus the broken corners the walk must survive.
func referenceTree() orgMap {
	m := orgMap{}
	add := func(id, parent, division string) {
		m[id] = jurisdiction.Org{ID: id, ParentID: parent, DivisionCode: division}
	}
	add("ORG-SAMR", "", "")
	add("ORG-420000", "ORG-SAMR", "420000")
	add("ORG-420100", "ORG-420000", "420100")
	add("ORG-420100-D02", "ORG-420100", "")
	add("ORG-420106", "ORG-420100", "420106")
	add("ORG-420106-S03", "ORG-420106", "")
	add("ORG-WH-DHGX", "ORG-420100", "")
	add("ORG-WH-DHGX-S01", "ORG-WH-DHGX", "")
	add("ORG-WH-WHKF", "ORG-420100", "420118") // an improvised zone code must not matter
	add("ORG-420200", "ORG-420000", "420200")
	add("ORG-420202", "ORG-420200", "420202")
	add("ORG-420202-S01", "ORG-420202", "")
	add("ORG-420111-S01", "ORG-420111", "") // its bureau is not captured yet
	add("ORG-LOOP-A", "ORG-LOOP-B", "")
	add("ORG-LOOP-B", "ORG-LOOP-A", "")
	return m
}
