package report

import (
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strconv"

	"github.com/go-analyze/charts"
)

// Chart is one server-side SVG chart of the page.
type Chart struct {
	Title string
	SVG   template.HTML // rendered by go-analyze/charts from the report's own numbers, so trusted markup
}

// charts draws what the page shows at a glance: flow per unit, work orders by kind, time limits, findings.
func (r Report) charts() ([]Chart, error) {
	var out []Chart
	for _, c := range []struct {
		title string
		draw  func() ([]byte, error)
	}{
		{"Events stored, published and acknowledged per unit", r.flowChart},
		{"Work orders registered by kind", r.workOrderChart},
		{"Time limits due: met and overdue", r.timeLimitChart},
		{"Data-validation findings per rule", r.findingChart},
	} {
		svg, err := c.draw()
		if err != nil {
			return nil, fmt.Errorf("draw %q: %w", c.title, err)
		}
		if svg != nil {
			out = append(out, Chart{Title: c.title, SVG: template.HTML(svg)})
		}
	}
	return out, nil
}

// bars draws grouped (or stacked) bars: one series per name, one bar per label. Nothing to draw is nil.
func bars(labels, names []string, values [][]float64, stacked, horizontal bool) ([]byte, error) {
	if len(labels) == 0 {
		return nil, nil
	}
	height := 360
	if horizontal { // a row per label, every label readable however many units there are
		height = max(height, 80+28*len(labels)*len(names))
	}
	p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: 900, Height: height})
	opt := charts.NewBarChartOptionWithData(values)
	opt.Horizontal = horizontal
	opt.CategoryAxis.Labels = labels
	opt.Legend = charts.LegendOption{SeriesNames: names}
	opt.StackSeries = charts.Ptr(stacked)
	for i := range opt.ValueAxis {
		opt.ValueAxis[i].Min = charts.Ptr(0.0) // counts: a bar's length must read from zero
	}
	opt.ValueFormatter = func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	if err := p.BarChart(opt); err != nil {
		return nil, err
	}
	return p.Bytes()
}

func (r Report) flowChart() ([]byte, error) {
	type sums struct{ stored, published, acked float64 }
	byUnit := map[string]*sums{}
	for _, l := range r.Flow {
		if l.Stored == 0 && l.Published == 0 {
			continue
		}
		if byUnit[l.Unit] == nil {
			byUnit[l.Unit] = &sums{}
		}
		s := byUnit[l.Unit]
		s.stored, s.published = s.stored+float64(l.Stored), s.published+float64(l.Published)
		if l.Acknowledged != nil {
			s.acked += float64(*l.Acknowledged)
		}
	}
	units := slices.Sorted(maps.Keys(byUnit))
	values := make([][]float64, 3)
	for _, u := range units {
		s := byUnit[u]
		values[0], values[1], values[2] = append(values[0], s.stored), append(values[1], s.published), append(values[2], s.acked)
	}
	return bars(units, []string{"stored", "published", "acknowledged"}, values, false, true)
}

func (r Report) workOrderChart() ([]byte, error) {
	byKind := map[string]float64{}
	for _, w := range r.WorkOrders {
		byKind[kindName(w)] += float64(w.Count)
	}
	kinds := slices.Sorted(maps.Keys(byKind))
	values := [][]float64{make([]float64, len(kinds))}
	for i, k := range kinds {
		values[0][i] = byKind[k]
	}
	return bars(kinds, []string{"registered"}, values, false, false)
}

// kindName labels a kind in the chart by its code and English name: the chart's font measures Latin text only.
func kindName(w WorkOrderLine) string {
	names := map[string]string{"1": "1 complaint", "2": "2 report", "3": "3 enquiry", "4": "4 suggestion"}
	if n, ok := names[w.Kind]; ok {
		return n
	}
	return w.Kind + " unknown"
}

func (r Report) timeLimitChart() ([]byte, error) {
	met, overdue := map[string]float64{}, map[string]float64{}
	for _, l := range r.TimeLimits {
		met[l.Rule] += float64(l.Met)
		overdue[l.Rule] += float64(l.Overdue)
	}
	var rules []string
	for _, l := range Limits {
		if _, ok := met[l.Rule]; ok {
			rules = append(rules, l.Rule)
		}
	}
	values := make([][]float64, 2)
	for _, rule := range rules {
		values[0], values[1] = append(values[0], met[rule]), append(values[1], overdue[rule])
	}
	return bars(rules, []string{"met", "overdue"}, values, true, false)
}

func (r Report) findingChart() ([]byte, error) {
	byRule := map[string]float64{}
	for _, f := range r.Findings {
		byRule[f.Rule] += float64(f.Count)
	}
	var rules []string
	for _, rule := range Rules {
		if _, ok := byRule[rule]; ok {
			rules = append(rules, rule)
		}
	}
	values := [][]float64{make([]float64, len(rules))}
	for i, rule := range rules {
		values[0][i] = byRule[rule]
	}
	return bars(rules, []string{"rows"}, values, false, true)
}
