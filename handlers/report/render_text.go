package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// terminalRows bounds the long sections in the terminal summary; the files hold every row.
const terminalRows = 20

// WriteText prints the terminal summary: every section but the per-table flow and the row-by-row findings (the
// files have them), long ones cut short.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "report %s (Asia/Shanghai), generated %s\n", r.Period, localTime(r.GeneratedAt))
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, s := range r.Sections() {
		if s.Name == "finding_rows" || s.Name == "flow" {
			continue
		}
		fmt.Fprintf(&b, "\n== %s\n", s.Title)
		if len(s.Rows) == 0 {
			b.WriteString("(none)\n")
			continue
		}
		writeAligned(&b, s.Columns, s.Rows[:min(len(s.Rows), terminalRows)])
		if more := len(s.Rows) - terminalRows; more > 0 {
			fmt.Fprintf(&b, "… and %d more (bridge report --out DIR writes them all)\n", more)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeAligned(w io.Writer, columns []string, rows [][]any) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(columns, "\t"))
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = cell(v, "-")
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	_ = tw.Flush() // a strings.Builder never fails
}

// cell renders one value; nil shows as none.
func cell(v any, none string) string {
	if v == nil {
		return none
	}
	return fmt.Sprint(v)
}

// WriteJSON writes the whole report as one JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
