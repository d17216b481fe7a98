package seed

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The organisation tree of docs/reference-org-tree.md. Its shape does not depend on Options.Seed: other parts of
// the project (the default unit catalogue, tests) name its nodes, so every seed must produce the same ids.

type orgKind uint8

const (
	orgNational orgKind = iota
	orgProvince
	orgCity
	orgDistrict // a district bureau; a municipality's district bureaus sit directly under the province
	orgZone     // a Wuhan functional-zone bureau: no division code
	orgStation
	orgDepartment
)

// Ids other parts of the project name.
const (
	rootID     = "ORG-SAMR"
	wuhanID    = "ORG-" + wuhanCode
	huangshiID = "ORG-" + huangshiCode
)

// treeSeed fixes the tree's few random choices (stations per bureau, departments per city).
const treeSeed = 2260

type org struct {
	id, parent, name, division string
	kind                       orgKind
	province                   int  // index into provinces
	city                       *org // city bureau above (the province bureau of a municipality); nil above city level
	bureau                     *org // the bureau that files cases and is supervised: district/zone bureau or city bureau
	area                       string
	improvised                 string // for Wuhan zone units: the code local systems improvise for the zone
	wuhan                      bool   // in the subtree of ORG-420100
	places                     []int  // places (index into tree.places) the organisation covers, for addresses
	staff                      []string
}

// place is a district or functional zone: where consumers live and businesses operate.
type place struct {
	code       string // GB/T 2260 district code; empty for a functional zone
	uscc       string // division digits of businesses registered here
	improvised string
	prefix     string // address prefix, e.g. 湖北省武汉市江岸区
	city       string // the city's short name, e.g. 武汉, for business names
	wuhan      bool
}

type tree struct {
	orgs       []*org
	byID       map[string]*org
	places     []place
	provinces  []*org
	wuhanUnits []*org // handling units, repeated by weight
	otherUnits []*org
	wuhanPlace []int
}

var departmentNames = []string{"消费者权益保护处", "执法稽查局", "价格监督检查和反不正当竞争处", "网络交易监督管理处",
	"食品经营安全监督管理处", "投诉举报处理中心"}

func buildTree() *tree {
	t := &tree{byID: map[string]*org{}}
	r := rand.New(rand.NewPCG(treeSeed, 12315))
	root := t.add(&org{id: rootID, name: "国家市场监督管理总局", kind: orgNational})
	for pi, p := range provinces {
		po := t.add(&org{id: "ORG-" + p.code, parent: root.id, name: p.name + "市场监督管理局", division: p.code,
			kind: orgProvince, province: pi})
		po.bureau = po
		t.provinces = append(t.provinces, po)
		if len(p.districts) > 0 { // a municipality: the province bureau is also the city bureau
			po.city = po
			t.addDistricts(po, p.name, p.districts)
			t.addDepartments(r, po, p.name, 2+r.IntN(3))
			po.places = t.placesUnder(po)
			continue
		}
		for _, c := range p.cities {
			co := t.add(&org{id: "ORG-" + c.code, parent: po.id, name: c.name + "市场监督管理局", division: c.code,
				kind: orgCity, province: pi})
			co.city, co.bureau = co, co
			if c.code == wuhanCode {
				co.wuhan = true
				t.addWuhan(r, co, p.name+c.name)
				t.addDepartments(r, co, c.name, 5)
			} else {
				t.addDistricts(co, p.name+c.name, c.districts)
				t.addDepartments(r, co, c.name, 2+r.IntN(3))
			}
			co.places = t.placesUnder(co)
		}
		po.places = t.placesUnder(po)
	}
	t.fillPools()
	return t
}

func (t *tree) add(o *org) *org {
	if p := t.byID[o.parent]; p != nil {
		if o.city == nil {
			o.city = p.city
		}
		if o.kind != orgProvince {
			o.province = p.province
		}
		o.wuhan = o.wuhan || p.wuhan
		if o.area = o.division; o.area == "" {
			o.area = p.area
		}
		if o.improvised == "" {
			o.improvised = p.improvised
		}
	}
	t.orgs = append(t.orgs, o)
	t.byID[o.id] = o
	return o
}

func (t *tree) addPlace(p place) []int {
	t.places = append(t.places, p)
	return []int{len(t.places) - 1}
}

func (t *tree) addDistricts(parent *org, prefix string, ds []division) {
	short := strings.TrimSuffix(t.byID[parent.id].name, "市场监督管理局")
	short = strings.TrimSuffix(short, "市")
	for _, d := range ds {
		o := t.add(&org{id: "ORG-" + d.code, parent: parent.id, name: d.name + "市场监督管理局", division: d.code, kind: orgDistrict})
		o.bureau = o
		o.places = t.addPlace(place{code: d.code, uscc: d.code, prefix: prefix + d.name, city: short})
	}
}

func (t *tree) addDepartments(r *rand.Rand, city *org, cityName string, n int) {
	perm := r.Perm(len(departmentNames))
	for i := 1; i <= n; i++ {
		name := departmentNames[perm[i-1]]
		o := t.add(&org{id: fmt.Sprintf("%s-D%02d", city.id, i), parent: city.id, name: cityName + "市场监督管理局" + name,
			kind: orgDepartment})
		o.bureau = city
	}
}

func (t *tree) addWuhan(r *rand.Rand, wuhan *org, prefix string) {
	for _, d := range wuhanDistricts {
		b := t.add(&org{id: "ORG-" + d.code, parent: wuhan.id, name: d.name + "市场监督管理局", division: d.code, kind: orgDistrict})
		b.bureau = b
		b.places = t.addPlace(place{code: d.code, uscc: d.code, prefix: prefix + d.name, city: "武汉", wuhan: true})
		t.addStations(r, b, d.streets)
	}
	for _, z := range wuhanZones {
		b := t.add(&org{id: z.id, parent: wuhan.id, name: z.name + "市场监督管理局", kind: orgZone, improvised: z.improvised})
		b.bureau = b
		b.places = t.addPlace(place{uscc: wuhanCode, improvised: z.improvised, prefix: prefix + z.name, city: "武汉", wuhan: true})
		t.addStations(r, b, z.streets)
	}
}

func (t *tree) addStations(r *rand.Rand, bureau *org, streets []string) {
	n := min(2+r.IntN(3), len(streets))
	for i := 1; i <= n; i++ {
		s := t.add(&org{id: fmt.Sprintf("%s-S%02d", bureau.id, i), parent: bureau.id, name: streets[i-1] + "市场监督管理所",
			kind: orgStation})
		s.bureau, s.places = bureau, bureau.places
	}
}

// placesUnder lists the places of the organisation's subtree; departments get their city's.
func (t *tree) placesUnder(o *org) []int {
	var out []int
	for _, c := range t.orgs {
		if c.parent == o.id && (c.kind == orgDistrict || c.kind == orgZone || c.kind == orgCity) {
			out = append(out, c.places...)
		}
	}
	for _, c := range t.orgs {
		if c.parent == o.id && c.kind == orgDepartment {
			c.places = out
		}
	}
	return out
}

// fillPools lists the units registrations are handed to, repeated by weight: in Wuhan mostly stations and
// district bureaus, elsewhere mostly district bureaus.
func (t *tree) fillPools() {
	weights := map[bool]map[orgKind]int{
		true:  {orgStation: 3, orgDistrict: 2, orgZone: 2, orgDepartment: 1, orgCity: 1},
		false: {orgDistrict: 3, orgCity: 1, orgDepartment: 1, orgProvince: 1},
	}
	for _, o := range t.orgs {
		for range weights[o.wuhan][o.kind] {
			if o.wuhan {
				t.wuhanUnits = append(t.wuhanUnits, o)
			} else {
				t.otherUnits = append(t.otherUnits, o)
			}
		}
	}
	for i, p := range t.places {
		if p.wuhan {
			t.wuhanPlace = append(t.wuhanPlace, i)
		}
	}
}
