package report

import (
	"embed"
	"fmt"
	"html/template"
	"io"
)

//go:embed report.html.tmpl
var pageFiles embed.FS

// page is parsed once; its functions turn nil cells into dashes.
var page = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"cell":  func(v any) string { return cell(v, "–") },
	"local": localTime,
}).ParseFS(pageFiles, "report.html.tmpl"))

// WriteHTML writes report.html: one self-contained page, styles inline and charts as inline SVG, so it opens
// offline, from a mail attachment or a USB stick, without fetching anything.
func (r Report) WriteHTML(w io.Writer) error {
	charts, err := r.charts()
	if err != nil {
		return err
	}
	data := struct {
		Report
		Charts   []Chart
		Sections []Section
		Limits   []Limit
	}{r, charts, r.Sections(), Limits}
	if err := page.Execute(w, data); err != nil {
		return fmt.Errorf("write report.html: %w", err)
	}
	return nil
}
