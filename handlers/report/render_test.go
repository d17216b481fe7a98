package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline-bridge/handlers/report"
)

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func sample() report.Report {
	acked := int64(7)
	done := report.Date(2025, 10, 17)
	return report.Report{
		Period:      report.Period{First: report.Date(2025, 10, 16), Last: report.Date(2025, 10, 16)},
		GeneratedAt: time.Date(2025, 10, 17, 1, 0, 0, 0, time.UTC),
		Capture:     []report.CaptureLine{{Table: "registration", Pages: 3, RowsRead: 4321, RowsPublished: 4321}},
		Flow: []report.FlowLine{{Unit: "420106", Table: "registration", Captured: 13, Stored: 12, Published: 11, Acknowledged: &acked, Held: 345},
			{Unit: "420102", Table: "subject", Stored: 5, Published: 5, Held: 6}},
		Groups:     []report.GroupLine{{Unit: "420106", Group: "wuchang-sync", Published: 11, Acknowledged: 7}},
		WorkOrders: []report.WorkOrderLine{{Unit: "420106", Kind: "1", KindLabel: "投诉", Status: "50", StatusLabel: "已办结", Count: 9}},
		TimeLimits: []report.TimeLimitLine{{Unit: "420106", Rule: "acceptance", Due: 4, Met: 3, Overdue: 1}},
		Overdue: []report.OverdueItem{{Rule: "acceptance", Unit: "420106", RegistrationID: "R2", RowID: "R2",
			Start: report.Date(2025, 9, 30), Deadline: report.Date(2025, 10, 16), Done: &done}},
		Findings:    []report.FindingCount{{Rule: report.RuleRequired, Table: "registration", Count: 1}},
		FindingRows: []report.Finding{{Rule: report.RuleRequired, Table: "registration", RowID: "R-BAD", Unit: "420106", Detail: "status is empty"}},
		Reconcile:   []report.ReconcileRun{{ID: 41, Trigger: "schedule", Checks: []string{"delivery"}, Outcome: "repaired", Missing: 2, Repaired: 2}},
		Differences: []report.ReconcileResult{{Check: "delivery", Subject: "unit", Unit: "420106", Runs: 1, Missing: 2, Repaired: 2}},
		Notes:       []string{"a note & <angle> brackets"},
	}
}

// The page must be well-formed (it is XHTML-clean, so a strict XML parser reads it whole), self-contained (no
// address to fetch anything from), and show the report's numbers in its tables and its charts.
func TestTheHTMLPageIsWellFormedSelfContainedAndShowsTheNumbers(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	assertWellFormed(t, page)
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:|//)`).FindString(page); m != "" {
		t.Errorf("the page refers to something outside itself: %s", m)
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "<link") || strings.Contains(page, "@import") {
		t.Error("the page loads scripts or stylesheets")
	}
	if n := strings.Count(page, "<svg"); n != 4 {
		t.Errorf("%d charts, want 4 (flow, work orders, time limits, findings)", n)
	}
	for _, want := range []string{"<td class=\"text\">4321</td>", "<td class=\"text\">345</td>", "wuchang-sync", "R-BAD",
		"status is empty", "<td class=\"text\">2025-10-17</td>", "投诉", "已办结", "a note &amp; &lt;angle&gt; brackets"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	// The flow chart's bars carry the units and their numbers.
	if !contains(page, ">420106<", ">420102<") {
		t.Error("the flow chart does not label the units")
	}
}

func assertWellFormed(t *testing.T, page string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, col := d.InputPos()
			lines := strings.Split(page, "\n")
			t.Fatalf("report.html is not well-formed at %d:%d: %v\n%.300s", line, col, err, lines[min(line, len(lines))-1])
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 {
		t.Fatalf("report.html leaves %d elements open", depth)
	}
}

func TestTheOutputDirectoryHoldsCSVAndJSONPerSection(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	if err := r.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, s := range r.Sections() {
		for _, ext := range []string{".csv", ".json"} {
			if !slices.Contains(names, s.Name+ext) {
				t.Errorf("no %s%s in %v", s.Name, ext, names)
			}
		}
	}
	for _, want := range []string{"report.html", "report.json"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s in %v", want, names)
		}
	}
	f, err := os.Open(filepath.Join(dir, "flow.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"unit", "table", "captured", "stored", "removed", "published", "acknowledged", "held", "held_deleted"},
		{"420106", "registration", "13", "12", "0", "11", "7", "345", "0"}, {"420102", "subject", "0", "5", "0", "5", "", "6", "0"}}
	if !slices.EqualFunc(records, want, slices.Equal) {
		t.Errorf("flow.csv: %q, want %q", records, want)
	}
	var overdue []map[string]any
	data, err := os.ReadFile(filepath.Join(dir, "overdue.json"))
	if err == nil {
		err = json.Unmarshal(data, &overdue)
	}
	if err != nil || len(overdue) != 1 || overdue[0]["deadline"] != "2025-10-16" || overdue[0]["done"] != "2025-10-17" {
		t.Errorf("overdue.json: %s (%v)", data, err)
	}
	var empty []any
	if data, err := os.ReadFile(filepath.Join(dir, "capture.json")); err != nil || json.Unmarshal(data, &empty) != nil || len(empty) != 1 {
		t.Errorf("capture.json: %s", data)
	}
}

func TestTheTerminalSummarySumsTheFlowPerUnit(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	var unitLine string
	for _, l := range lines {
		if strings.HasPrefix(l, "420106 ") && strings.Contains(l, "345") {
			unitLine = strings.Join(strings.Fields(l), " ")
		}
	}
	if unitLine != "420106 13 12 0 11 7 345" {
		t.Errorf("420106's line %q, want captured 13, stored 12, removed 0, published 11, acknowledged 7, held 345:\n%s", unitLine, out)
	}
	for _, want := range []string{"report 2025-10-16 (Asia/Shanghai), generated 2025-10-17 09:00:00", "note: a note & <angle> brackets",
		"required_missing  registration  1      R-BAD", "acceptance  420106  R2"} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "status is empty") {
		t.Error("the summary lists findings row by row: that is for the files")
	}
}
