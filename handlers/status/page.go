package status

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/audit"
)

//go:embed page.html
var pageHTML string

// Journey reads the audit trail (postgres.AuditTrail.Journey).
type Journey func(ctx context.Context, q audit.Query) ([]events.Hop, error)

// Page serves the status page, its JSON, and the journey of a work order.
type Page struct {
	Source  *Source
	Journey Journey
	// Refresh is how often an open page asks for a new snapshot.
	Refresh time.Duration
	Log     *slog.Logger
}

// Register adds the page's routes: /status, /status.json and /status/audit.
func (p *Page) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /status", p.status)
	mux.HandleFunc("GET /status.json", p.statusJSON)
	mux.HandleFunc("GET /status/audit", p.audit)
}

var templates = template.Must(template.New("page").Funcs(template.FuncMap{
	"when": when,
	"age":  age,
}).Parse(pageHTML))

// view is what the templates render: a snapshot, or a journey.
type view struct {
	Snapshot
	RefreshMS int64
	Query     string
	Asked     audit.Query
	Hops      []events.Hop
	Problem   string
}

func (p *Page) status(w http.ResponseWriter, r *http.Request) {
	v := view{Snapshot: p.Source.Snapshot(r.Context()), RefreshMS: p.Refresh.Milliseconds()}
	name := "status"
	if r.URL.Query().Get("part") == "main" { // the page's own refresh swaps this part in
		name = "main"
	}
	p.render(w, name, http.StatusOK, v)
}

func (p *Page) statusJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(p.Source.Snapshot(r.Context())); err != nil {
		p.Log.Warn("writing /status.json failed", "error", err)
	}
}

// audit shows a work order's journey (?reg_no=…) or one row's (?table=…&id=…) from the audit trail.
func (p *Page) audit(w http.ResponseWriter, r *http.Request) {
	q := audit.Query{RegNo: strings.TrimSpace(r.URL.Query().Get("reg_no")), Table: r.URL.Query().Get("table"),
		ID: strings.TrimSpace(r.URL.Query().Get("id"))}
	v := view{Asked: q, Query: q.RegNo}
	if err := q.Validate(); err != nil {
		v.Problem = "Ask for a registration number (登记编号), or a table and a row id."
		p.render(w, "audit", http.StatusBadRequest, v)
		return
	}
	hops, err := p.Journey(r.Context(), q)
	switch {
	case err != nil:
		p.Log.Warn("reading a journey for the status page failed", "query", q.String(), "error", err)
		v.Problem = "The audit trail cannot be read just now; the bridge's log says why."
		p.render(w, "audit", http.StatusServiceUnavailable, v)
	case len(hops) == 0:
		v.Problem = fmt.Sprintf("The audit trail has never seen %s, or its hops are older than audit_retention.", q)
		p.render(w, "audit", http.StatusNotFound, v)
	default:
		v.Hops = hops
		p.render(w, "audit", http.StatusOK, v)
	}
}

// render writes a template whole or not at all: a failure half-way would otherwise leave a cut page.
func (p *Page) render(w http.ResponseWriter, name string, code int, v view) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, v); err != nil {
		p.Log.Error("rendering the status page failed", "template", name, "error", err)
		http.Error(w, "the status page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}

// shanghai is the bureau's time zone; the page shows every time in it.
var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600) // no tz database on the machine: China has had no DST since 1991
}()

func when(t any) string {
	switch t := t.(type) {
	case time.Time:
		if t.IsZero() {
			return "—"
		}
		return t.In(shanghai).Format("2006-01-02 15:04:05")
	case *time.Time:
		if t == nil {
			return "—"
		}
		return when(*t)
	}
	return "—"
}

// age writes seconds the way an operator reads them: 45 s, 12 min, 3.5 h, 2.1 d.
func age(s float64) string {
	switch d := time.Duration(s * float64(time.Second)); {
	case s <= 0:
		return "0 s"
	case d < time.Minute:
		return fmt.Sprintf("%.0f s", s)
	case d < time.Hour:
		return fmt.Sprintf("%.0f min", d.Minutes())
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	default:
		return fmt.Sprintf("%.1f d", d.Hours()/24)
	}
}
