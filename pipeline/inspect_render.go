package pipeline

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"hotline-bridge/handlers/inspect"
)

// printInspection prints the report as tables: the findings first, then every part with its status.
func printInspection(out io.Writer, r inspect.Report) error {
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("inspection %s at %s by bridge %s: %s", r.Trigger, r.StartedAt.Local().Format(time.RFC3339), r.Bridge, strings.ToUpper(string(r.Status)))
	p("")
	p("STATUS\tCHECK\tSUBJECT\tFINDING")
	if len(r.Findings) == 0 {
		p("ok\t-\t-\tnothing over a threshold")
	}
	for _, f := range r.Findings {
		p("%s\t%s\t%s\t%s", f.Status, f.Check, dash(f.Subject), f.Message)
	}
	p("")
	p("DEPENDENCY\tADDRESS\tSTATUS\tVERSION\tDETAIL")
	for _, d := range r.Dependencies {
		p("%s\t%s\t%s\t%s\t%s", d.Name, d.Address, d.Status, dash(d.Version), dash(d.Detail))
	}
	p("")
	p("TABLE\tWATERMARK\tSAVED\tLAG\tSTATUS")
	for _, l := range r.Capture {
		p("%s\t%s\t%s\t%s\t%s", l.Table, stamp(l.Watermark), stamp(l.SavedAt), age(l.LagSeconds), l.Status)
	}
	p("")
	p("QUEUE\tROWS\tOLDEST\tRECENT\tSTATUS\tEXAMPLES")
	for _, q := range []struct {
		name string
		b    inspect.Backlog
	}{{"parked", r.Parked}, {"quarantine", r.Quarantine}, {"outbox", r.Outbox}} {
		p("%s\t%d\t%s\t%d\t%s\t%s", q.name, q.b.Rows, age(q.b.OldestAgeSeconds), q.b.Recent, dash(string(q.b.Status)), dash(strings.Join(q.b.Examples, ", ")))
	}
	p("")
	if rec := r.Reconciliation; rec != nil {
		p("RECONCILIATION\tSTARTED\tFINISHED\tOUTCOME\tMISSING\tREPAIRED\tSTATUS")
		p("run %d (%s %s)\t%s\t%s\t%s\t%d\t%d\t%s", rec.Run, rec.Trigger, strings.Join(rec.Checks, ","), rec.StartedAt.Local().Format(time.RFC3339),
			stamp(rec.FinishedAt), dash(rec.Outcome), rec.Missing, rec.Repaired, rec.Status)
		for _, d := range rec.Differences {
			p("  %s", d)
		}
	} else {
		p("RECONCILIATION\tnone recorded")
	}
	p("")
	if len(r.ConsumerGroups) > 0 {
		p("UNIT\tGROUP\tTOPIC\tLAG\tBEHIND LOG START\tSTATUS\tDETAIL")
		for _, g := range r.ConsumerGroups {
			p("%s\t%s\t%s\t%d\t%d\t%s\t%s", g.Unit, g.Group, g.Topic, g.Lag, g.BehindLogStart, g.Status, dash(g.Detail))
		}
		p("")
	}
	d := r.Disk
	p("STORE DATABASE\tTABLESPACE\tPATH\tFREE\tSTATUS")
	p("%s\t%s\t%s\t%s\t%s", bytesOf(d.DatabaseBytes), dash(d.Tablespace), dash(d.Path), diskFree(d), dash(string(d.Status)))
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func age(seconds float64) string {
	return (time.Duration(seconds * float64(time.Second))).Round(time.Second).String()
}

func bytesOf(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func diskFree(d inspect.Disk) string {
	if d.FreePercent == nil {
		return d.FreeUnknown
	}
	return fmt.Sprintf("%s of %s (%.1f%%)", bytesOf(*d.FreeBytes), bytesOf(*d.TotalBytes), *d.FreePercent)
}

//go:embed inspect.html
var inspectionPage string

var inspectionTemplate = template.Must(template.New("inspection").Funcs(template.FuncMap{
	"stamp": stamp, "age": age, "bytes": bytesOf, "free": diskFree, "dash": dash, "join": strings.Join,
	"local": func(t time.Time) string { return t.Local().Format(time.RFC3339) },
}).Parse(inspectionPage))

// renderInspectionHTML writes the report as one page with its styles inline: it opens offline, from a mail or a
// USB stick, and carries what the report carries (no row content).
func renderInspectionHTML(w io.Writer, r inspect.Report) error {
	return inspectionTemplate.Execute(w, r)
}
