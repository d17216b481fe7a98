package seed

import (
	"strconv"
	"time"
)

// Reference data: organisations, personnel and the data dictionary. They were loaded once, before the window,
// by one import (one shared update_time); a few have changed since.

func (g *gen) loadedAt() time.Time {
	l := g.clk.start.In(cst).AddDate(0, 0, -1)
	return time.Date(l.Year(), l.Month(), l.Day(), 2, 0, 0, 0, cst).UTC()
}

// referenceStamp: most reference rows keep the initial import's timestamp.
func (g *gen) referenceStamp() time.Time {
	if g.r.IntN(100) < 85 {
		return g.loadedAt()
	}
	return g.stamp(g.clk.within(g.r))
}

func (g *gen) organizations() {
	for _, o := range g.t.orgs {
		g.b[tOrg].add(o.id, g.referenceStamp(), false, text(o.parent), o.name, text(o.division))
	}
}

// staffCount: several people per Wuhan bureau and station, fewer elsewhere.
func staffCount(r interface{ IntN(int) int }, o *org) int {
	switch {
	case o.kind == orgNational:
		return 3
	case o.wuhan && o.kind == orgStation:
		return 3 + r.IntN(4)
	case o.wuhan:
		return 4 + r.IntN(5)
	case o.kind == orgProvince:
		return 3 + r.IntN(3)
	case o.kind == orgCity:
		return 2 + r.IntN(3)
	default:
		return 1 + r.IntN(2)
	}
}

func (g *gen) personnel() {
	for _, o := range g.t.orgs {
		for range staffCount(g.r, o) {
			id := g.id(tPer)
			o.staff = append(o.staff, id)
			g.b[tPer].add(id, g.referenceStamp(), g.deleted(), o.id, personName(g.r), mobile(g.r))
		}
	}
}

type dictEntry struct{ typ, code, label, division string }

// nationalDictionary applies everywhere: division_code NULL.
var nationalDictionary = []dictEntry{
	{"reg_kind", "1", "投诉", ""}, {"reg_kind", "2", "举报", ""}, {"reg_kind", "3", "咨询", ""}, {"reg_kind", "4", "建议", ""},
	{"reg_status", statusUndispatched, "待分送", ""}, {"reg_status", statusPending, "待受理", ""},
	{"reg_status", statusHandling, "处理中", ""}, {"reg_status", statusMediating, "调解中", ""},
	{"reg_status", statusDone, "已办结", ""}, {"reg_status", statusRefused, "不予受理", ""},
	{"reg_status", statusTerminated, "终止处理", ""},
	{"mediation_result", "1", "达成调解协议", ""}, {"mediation_result", "2", "协商和解成功", ""},
	{"mediation_result", "3", "消费者撤回投诉", ""}, {"mediation_result", "4", "终止调解", ""},
	{"mediation_result", "5", "协商和解不成功", ""}, {"mediation_result", "9", "其他", ""},
	{"initial_result", "1", "受理", ""}, {"initial_result", "2", "不予受理", ""},
	{"initial_result", "3", "移送", ""}, {"initial_result", "4", "告知", ""},
	{"final_result", "1", "调解成功", ""}, {"final_result", "2", "调解不成功", ""}, {"final_result", "3", "立案", ""},
	{"final_result", "4", "不予立案", ""}, {"final_result", "5", "已答复", ""}, {"final_result", "9", "其他", ""},
}

func (g *gen) dictionary() {
	entries := append([]dictEntry{}, nationalDictionary...)
	seen := map[string]bool{}
	for _, item := range catalogue {
		if !seen[item.category] {
			seen[item.category] = true
			entries = append(entries, dictEntry{"object_category", strconv.Itoa(len(seen)), item.category, ""})
		}
	}
	entries = append(entries, localDictionary()...)
	for _, e := range entries {
		g.b[tDict].add(g.id(tDict), g.referenceStamp(), false, e.typ, e.code, e.label, text(e.division))
	}
}

// localDictionary: Wuhan's own entries (the improvised zone codes, streets per district) and a few other cities'.
func localDictionary() []dictEntry {
	var out []dictEntry
	for _, z := range wuhanZones {
		out = append(out, dictEntry{"zone_code", z.improvised, z.name, wuhanCode})
	}
	for _, d := range wuhanDistricts {
		for i, s := range d.streets {
			out = append(out, dictEntry{"street", d.code + pad(i+1, 3), s + "街道", d.code})
		}
	}
	out = append(out, dictEntry{"source_channel", "12345", "12345市民服务热线转办", wuhanCode},
		dictEntry{"source_channel", "12315", "12315平台直接登记", wuhanCode})
	for _, code := range []string{huangshiCode, "420500", "440100", "510100"} {
		out = append(out, dictEntry{"source_channel", "12345", "12345热线转办", code},
			dictEntry{"source_channel", "12315", "12315平台直接登记", code})
	}
	for i, d := range []string{"黄石港", "胜阳港"} {
		out = append(out, dictEntry{"street", "420202" + pad(i+1, 3), d + "街道", "420202"})
	}
	return out
}
