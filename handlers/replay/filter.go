package replay

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"hotline-bridge/events"
)

// Sources a job replays from: wire names, kept in bridge.replay_job.
const (
	SourceStore    = "store"    // re-publish what the dedicated store holds, as fresh events
	SourceCapture  = "capture"  // re-sort the capture log kept on the capture topics
	SourceUpstream = "upstream" // re-read the national rows and re-sort them as current versions
)

// Sources lists every source, in the order the command documents them.
var Sources = []string{SourceStore, SourceCapture, SourceUpstream}

// Filter selects what a job replays; the zero Filter selects everything the source holds. Criteria combine with
// AND; the values of one criterion with OR.
type Filter struct {
	Units  []string   `json:"units,omitempty"`   // the unit a row is in (store), or the ledger places it in (capture, upstream)
	Tables []string   `json:"tables,omitempty"`  // record kinds
	Since  *time.Time `json:"since,omitempty"`   // update_time at or after
	Until  *time.Time `json:"until,omitempty"`   // update_time before
	IDs    []string   `json:"ids,omitempty"`     // row ids
	RegNos []string   `json:"reg_nos,omitempty"` // registration numbers: each work order and its family
}

// Normalised sorts and dedupes the lists, so that the same command names the same job.
func (f Filter) Normalised() Filter {
	for _, list := range []*[]string{&f.Units, &f.Tables, &f.IDs, &f.RegNos} {
		if len(*list) == 0 {
			*list = nil
			continue
		}
		*list = slices.Compact(slices.Sorted(slices.Values(*list)))
	}
	if f.Since != nil {
		f.Since = new(f.Since.UTC())
	}
	if f.Until != nil {
		f.Until = new(f.Until.UTC())
	}
	return f
}

// Validate reports every problem at once; units are the catalogue's codes and the broadcast.
func (f Filter) Validate(units []string) error {
	var errs []error
	for _, u := range f.Units {
		if !slices.Contains(units, u) {
			errs = append(errs, fmt.Errorf("--unit %q is not a unit code (%s)", u, strings.Join(units, ", ")))
		}
	}
	for _, t := range f.Tables {
		if _, ok := events.KindByTable(t); !ok {
			errs = append(errs, fmt.Errorf("--table %q is not a record kind", t))
		}
	}
	if f.Since != nil && f.Until != nil && !f.Since.Before(*f.Until) {
		errs = append(errs, fmt.Errorf("--since %s is not before --until %s", f.Since.Format(time.RFC3339), f.Until.Format(time.RFC3339)))
	}
	if len(f.RegNos) > 0 && len(f.Kinds()) == 0 {
		errs = append(errs, errors.New("--reg-no selects work orders and their families, and --table names none of those kinds"))
	}
	return errors.Join(errs...)
}

// Kinds are the record kinds the filter reaches, in the catalogue's dependency order (organisations first,
// registrations before their families), the order every source walks them in. A registration number reaches only
// the work orders and the kinds of their families.
func (f Filter) Kinds() []events.Kind {
	var out []events.Kind
	for _, k := range events.Catalogue {
		if len(f.Tables) > 0 && !slices.Contains(f.Tables, k.Table) {
			continue
		}
		if len(f.RegNos) > 0 && !k.WorkOrder && k.RegistrationColumn == "" {
			continue
		}
		out = append(out, k)
	}
	return out
}

// Matcher applies a filter to row versions one by one, as the capture log gives them; it learns the work orders a
// registration number names from the registration rows it matches, which come before their families.
type Matcher struct {
	filter Filter
	Family map[string]bool // registration ids the filter's registration numbers name
}

// NewMatcher matches f, knowing the registration ids family already found (from a checkpoint).
func NewMatcher(f Filter, family []string) *Matcher {
	m := &Matcher{filter: f, Family: map[string]bool{}}
	for _, id := range family {
		m.Family[id] = true
	}
	return m
}

// Match tells whether the version is selected (the unit aside, which the ledger answers).
func (m *Matcher) Match(v events.RowVersion) bool {
	f := m.filter
	kind, ok := events.KindByTable(v.Table)
	switch {
	case !ok || !slices.ContainsFunc(f.Kinds(), func(k events.Kind) bool { return k.Table == kind.Table }):
		return false
	case f.Since != nil && v.UpdateTime.Before(*f.Since), f.Until != nil && !v.UpdateTime.Before(*f.Until):
		return false
	case len(f.IDs) > 0 && !slices.Contains(f.IDs, v.ID):
		return false
	case len(f.RegNos) == 0:
		return true
	case kind.WorkOrder:
		if !slices.Contains(f.RegNos, gjson.GetBytes(v.Payload, "reg_no").String()) {
			return false
		}
		m.Family[v.ID] = true
		return true
	}
	return m.Family[gjson.GetBytes(v.Payload, kind.RegistrationColumn).String()]
}

// FamilyIDs are the registration ids learnt so far, sorted, for a checkpoint.
func (m *Matcher) FamilyIDs() []string {
	out := make([]string, 0, len(m.Family))
	for id := range m.Family {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
