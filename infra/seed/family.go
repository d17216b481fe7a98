package seed

import (
	"math/big"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Work-order kinds (诉求类型).
const (
	kindComplaint  int16 = 1
	kindReport     int16 = 2
	kindEnquiry    int16 = 3
	kindSuggestion int16 = 4
)

// Work-order statuses (dictionary type reg_status).
const (
	statusUndispatched = "10"
	statusPending      = "20"
	statusHandling     = "30"
	statusMediating    = "40"
	statusDone         = "50"
	statusRefused      = "60"
	statusTerminated   = "70"
)

// gen writes registrations with their families into a batch. Everything random comes from r, in a fixed order,
// so a seed reproduces the data exactly.
type gen struct {
	r        *rand.Rand
	t        *tree
	clk      clock
	next     [numTables]int // last id number used per table
	delShare float64        // share of rows written soft-deleted
	b        *batch
}

func newGen(seed int64, t *tree, clk clock) *gen {
	return &gen{r: rand.New(rand.NewPCG(uint64(seed), 0x12315)), t: t, clk: clk, delShare: 0.005}
}

// seqID formats a table's n-th id: REG-0000001.
func seqID(prefix string, n int) string {
	s := strconv.Itoa(n)
	if len(s) < 7 {
		s = "0000000"[:7-len(s)] + s
	}
	return prefix + s
}

func (g *gen) id(t int) string {
	g.next[t]++
	return seqID(tables[t].prefix, g.next[t])
}

func (g *gen) deleted() bool { return g.r.Float64() < g.delShare }

func (g *gen) stamp(base time.Time) time.Time { return g.clk.stamp(g.r, base) }

// family is what one registration's rows need to know about each other.
type family struct {
	id, handler string
	unit        *org
	kind        int16
	regAt       time.Time
	last        time.Time // latest change: the registration's own update_time derives from it
	place       place
	amount      int64 // cents paid for the goods complained about
	status      string
}

// registration writes a registration handled in Wuhan or elsewhere, with its whole family.
func (g *gen) registration(regAt time.Time, wuhan bool) {
	r := g.r
	pool := g.t.otherUnits
	if wuhan {
		pool = g.t.wuhanUnits
	}
	unit := pool[r.IntN(len(pool))]
	f := &family{id: g.id(tReg), unit: unit, kind: g.kind(), regAt: regAt, last: regAt}
	f.place = g.t.places[unit.places[r.IntN(len(unit.places))]]
	registrar := pickStaff(r, unit.city, g.t.provinces[unit.province])
	division := g.division(unit)
	if r.Float64() < 0.03 { // not dispatched yet: only a division code tells where it belongs
		f.unit, division = nil, f.place.code
		if division == "" && r.IntN(2) == 0 {
			division = f.place.improvised
		}
	} else {
		f.handler = pickStaff(r, unit)
	}
	firm := g.subjects(f)
	goods := g.objects(f)
	g.infoProvider(f)
	g.feedback(f)
	g.supervision(f)
	g.b[tReg].add(f.id, g.stamp(f.last), g.deleted(),
		"12315"+regAt.In(cst).Format("20060102")+pad(g.next[tReg], 8), f.kind, text(registrar), f.status,
		orgID(f.unit), text(f.handler), text(division), summary(r, f.kind, firm, goods), regAt)
	if r.Float64() < 0.004 {
		g.standaloneCase()
	}
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func orgID(o *org) any {
	if o == nil {
		return nil
	}
	return o.id
}

// pickStaff returns someone working at the first of the organisations that has staff.
func pickStaff(r *rand.Rand, orgs ...*org) string {
	for _, o := range orgs {
		if o != nil && len(o.staff) > 0 {
			return o.staff[r.IntN(len(o.staff))]
		}
	}
	return ""
}

// kind weighs complaints and enquiries heaviest, as the national statistics do.
func (g *gen) kind() int16 {
	switch u := g.r.IntN(100); {
	case u < 45:
		return kindComplaint
	case u < 57:
		return kindReport
	case u < 95:
		return kindEnquiry
	default:
		return kindSuggestion
	}
}

// division is the code the platform writes on a registration handled by unit: the nearest division code up
// the tree, sometimes missing, and for Wuhan's functional zones either missing or a locally improvised code.
func (g *gen) division(unit *org) string {
	if unit.improvised != "" {
		if g.r.IntN(2) == 0 {
			return unit.improvised
		}
		return ""
	}
	if g.r.IntN(100) < 5 {
		return ""
	}
	return unit.area
}

func (g *gen) subjects(f *family) string {
	r := g.r
	var first string
	n := 1
	if r.IntN(100) < 30 {
		n = 2
	}
	for i := range n {
		individual := r.IntN(100) < 30
		name := businessName(r, f.place.city, individual)
		registeredAt := f.place.uscc // where it was registered: usually where it operates, not always
		if u := r.IntN(100); u >= 90 {
			registeredAt = g.t.places[r.IntN(len(g.t.places))].uscc
		} else if u >= 70 && f.unit != nil && f.unit.city != nil {
			registeredAt = f.unit.city.division
		}
		bizDivision := f.place.code
		if bizDivision == "" && r.IntN(2) == 0 {
			bizDivision = f.place.improvised
		}
		g.b[tSub].add(g.id(tSub), g.stamp(f.regAt.Add(time.Duration(r.IntN(120))*time.Second)), g.deleted(), f.id, name,
			uscc(r, registeredAt, individual), text(bizDivision), address(r, f.place.prefix))
		if i == 0 {
			first = name
		}
	}
	return first
}

func (g *gen) objects(f *family) goods {
	r := g.r
	item := catalogue[r.IntN(len(catalogue))]
	n := []int{0, 1, 1, 1, 1, 2, 2, 2, 3, 3}[r.IntN(10)]
	if f.kind == kindEnquiry || f.kind == kindSuggestion {
		n = []int{0, 0, 1, 1, 2}[r.IntN(5)]
	}
	for i := range n {
		if i > 0 {
			item = catalogue[r.IntN(len(catalogue))]
		}
		cents := (item.minYuan + r.Int64N(item.maxYuan-item.minYuan+1)) * 100
		if r.IntN(2) == 0 {
			cents += r.Int64N(100)
		}
		f.amount += cents
		brand := ""
		if len(item.brands) > 0 {
			brand = pick(r, item.brands)
		}
		g.b[tObj].add(g.id(tObj), g.stamp(f.regAt.Add(time.Duration(r.IntN(120))*time.Second)), g.deleted(), f.id,
			item.category, item.name, text(brand), money(cents))
	}
	return item
}

func money(cents int64) pgtype.Numeric {
	return pgtype.Numeric{Int: big.NewInt(cents), Exp: -2, Valid: true}
}

func (g *gen) infoProvider(f *family) {
	r := g.r
	home := f.place
	if r.IntN(100) < 30 { // not a local
		home = g.t.places[r.IntN(len(g.t.places))]
	}
	region := home.code
	if region == "" {
		region = home.uscc
	}
	g.b[tInf].add(g.id(tInf), g.stamp(f.regAt.Add(time.Duration(r.IntN(60))*time.Second)), g.deleted(), f.id,
		personName(r), mobile(r), idCardNo(r, region), address(r, home.prefix))
}

// feedback writes the initial check, mediation, completion and case of a dispatched registration, as far as
// time has allowed them to happen, and settles the registration's status.
func (g *gen) feedback(f *family) {
	r, c := g.r, g.clk
	if f.unit == nil {
		f.status = statusUndispatched
		return
	}
	f.status = statusPending
	if r.IntN(100) >= 85 {
		return
	}
	fbAt, ok := c.after(r, f.regAt, 2*time.Hour, 7*24*time.Hour)
	if !ok {
		return
	}
	result := []string{"1", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1", "2", "2", "3", "4"}[r.IntN(20)]
	g.b[tIfb].add(g.id(tIfb), g.stamp(fbAt), g.deleted(), f.id, f.unit.id, text(f.handler), result,
		pick(r, initialContents[result]), fbAt)
	f.last = fbAt
	switch result {
	case "2":
		f.status = statusRefused
		return
	case "3":
		return // transferred on: waiting to be accepted again
	case "4":
		f.status = statusDone
		return
	}
	f.status = statusHandling
	after := fbAt
	if f.kind == kindComplaint && r.IntN(100) < 40 {
		after = g.mediation(f, fbAt)
	}
	if f.kind == kindReport && r.IntN(100) < 25 {
		g.caseInfo(f, fbAt)
	}
	if r.IntN(100) < 85 {
		g.finalFeedback(f, after)
	}
}

var mediationResults = []string{"1", "1", "1", "1", "1", "1", "2", "2", "2", "2", "2", "3", "3", "3", "4", "4", "5", "5", "5", "9"}

func (g *gen) mediation(f *family, from time.Time) time.Time {
	at, ok := g.clk.after(g.r, from, 24*time.Hour, 30*24*time.Hour)
	if !ok {
		f.status = statusMediating
		return from
	}
	result := mediationResults[g.r.IntN(len(mediationResults))]
	g.b[tMed].add(g.id(tMed), g.stamp(at), g.deleted(), f.id, f.unit.id, result, at)
	f.last = maxTime(f.last, at)
	if result == "3" || result == "4" {
		f.status = statusTerminated
	}
	return at
}

func (g *gen) finalFeedback(f *family, from time.Time) {
	r := g.r
	at, ok := g.clk.after(r, from, 24*time.Hour, 20*24*time.Hour)
	if !ok {
		return
	}
	var result string
	var recovered any
	switch f.kind {
	case kindComplaint:
		result = pick(r, []string{"1", "1", "2"})
		if result == "1" && f.amount > 0 {
			recovered = money(f.amount * int64(20+r.IntN(81)) / 100)
		}
	case kindReport:
		result = pick(r, []string{"3", "4"})
	default:
		result = pick(r, []string{"5", "5", "9"})
	}
	g.b[tFfb].add(g.id(tFfb), g.stamp(at), g.deleted(), f.id, f.unit.id, text(f.handler), result, recovered,
		pick(r, finalContents[result]), at)
	f.last = maxTime(f.last, at)
	f.status = statusDone
}

func (g *gen) caseInfo(f *family, from time.Time) {
	at, ok := g.clk.after(g.r, from, 3*24*time.Hour, 30*24*time.Hour)
	if !ok {
		return
	}
	g.b[tCas].add(g.id(tCas), g.stamp(at), g.deleted(), f.id, g.caseNo(f.unit.bureau, at), f.unit.bureau.id, at)
	f.last = maxTime(f.last, at)
}

// standaloneCase is a case filed without a registration (found by inspection): registration_id is NULL.
func (g *gen) standaloneCase() {
	pool := g.t.otherUnits
	if g.r.IntN(100) < 30 {
		pool = g.t.wuhanUnits
	}
	filer := pool[g.r.IntN(len(pool))].bureau
	at := g.clk.within(g.r)
	g.b[tCas].add(g.id(tCas), g.stamp(at), g.deleted(), nil, g.caseNo(filer, at), filer.id, at)
}

func (g *gen) caseNo(filer *org, at time.Time) string {
	return provinces[filer.province].abbr + "市监立字〔" + strconv.Itoa(at.In(cst).Year()) + "〕" +
		strconv.Itoa(g.next[tCas]) + "号"
}

// supervision: a city or province bureau presses the handling bureau about an overdue registration.
func (g *gen) supervision(f *family) {
	r := g.r
	if f.unit == nil || r.IntN(100) >= 2 {
		return
	}
	at, ok := g.clk.after(r, f.regAt, 24*time.Hour, 10*24*time.Hour)
	if !ok {
		return
	}
	supervised := f.unit.bureau
	supervising := g.t.provinces[f.unit.province]
	if supervised != f.unit.city && f.unit.city != nil && r.IntN(100) < 70 {
		supervising = f.unit.city
	}
	if supervising == supervised {
		supervising = g.t.byID[rootID]
	}
	g.b[tSup].add(g.id(tSup), g.stamp(at), g.deleted(), f.id, supervising.id, supervised.id,
		at.Add(15*24*time.Hour), pick(r, supervisionContents))
	f.last = maxTime(f.last, at)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
