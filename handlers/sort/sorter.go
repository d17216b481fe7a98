package sort

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/pace"
	"hotline-bridge/handlers/spans"
)

// MaxFieldBytes bounds a text value; a larger one is a corrupt row, not a complaint.
const MaxFieldBytes = 16 << 10

// BadRowError marks a row that cannot be sorted as it is; it goes to quarantine with Reason, and the flow goes on.
type BadRowError struct {
	Table, ID string
	Reason    string
}

func (e *BadRowError) Error() string {
	return fmt.Sprintf("bad %s row %s: %s", e.Table, e.ID, e.Reason)
}

// Sorter decides and stores captured row versions, a batch per store transaction.
type Sorter struct {
	// units is swapped whole by SetUnits (bridge run reloads the catalogue on SIGHUP); a batch reads it once.
	units    atomic.Pointer[jurisdiction.Units]
	store    Store
	upstream Upstream
	tree     *treeCache
	hint     *decidedHint
	// OnBatch, when set, is told what each committed batch decided (metrics); see Tally.
	OnBatch func(Tally)
}

// NewSorter builds a sorter over the unit catalogue.
func NewSorter(units *jurisdiction.Units, store Store, upstream Upstream) *Sorter {
	s := &Sorter{store: store, upstream: upstream, tree: newTreeCache(), hint: newDecidedHint()}
	s.units.Store(units)
	return s
}

// SetUnits replaces the unit catalogue for every batch that starts after it; a batch under way finishes with the
// catalogue it started with, so no batch decides under two.
func (s *Sorter) SetUnits(units *jurisdiction.Units) { s.units.Store(units) }

// Units is the catalogue batches starting now decide under.
func (s *Sorter) Units() *jurisdiction.Units { return s.units.Load() }

// Sort decides one captured row version and everything that decision carries along. A bad row comes back as
// *BadRowError.
func (s *Sorter) Sort(ctx context.Context, v events.RowVersion) error {
	rejected, err := s.SortBatch(ctx, []events.RowVersion{v})
	if err != nil || len(rejected) == 0 {
		return err
	}
	return &BadRowError{Table: v.Table, ID: v.ID, Reason: rejected[0].Reason}
}

// SortBatch decides captured row versions and everything their decisions carry along (parked rows they
// unblock, families that move with their work order) in one store transaction. The rows that cannot be sorted
// as they are come back with their reasons, for the caller to set aside; everything else is committed.
func (s *Sorter) SortBatch(ctx context.Context, rows []events.RowVersion) ([]Rejected, error) {
	var rejected []Rejected
	for part := range slices.Chunk(rows, max(s.store.BatchLimit(), 1)) {
		r, err := s.decideAll(ctx, part, "")
		if err != nil {
			return nil, err
		}
		rejected = append(rejected, r...)
	}
	return rejected, nil
}

// Replay decides row versions again on request (bridge replay), with everything their decisions carry along, in
// store transactions of BatchLimit rows. from says where they come from: events.ViaReplayUpstream for current rows
// read from the national platform (their content wins at an equal update_time, as a family re-read's does), or
// events.ViaReplayCapture for versions from the capture log (the ledger's content wins at an equal update_time).
// The newer-wins gate still holds: a version older than the ledger's changes nothing. One that is still the
// row's is decided again under the current rules and catalogue, stored, and sent to its unit again with a new
// ce_id, even where its unit did not change. Bad rows come back as for SortBatch.
func (s *Sorter) Replay(ctx context.Context, rows []events.RowVersion, from string) ([]Rejected, error) {
	if from != events.ViaReplayCapture && from != events.ViaReplayUpstream {
		return nil, fmt.Errorf("replay from %q: want %q or %q", from, events.ViaReplayCapture, events.ViaReplayUpstream)
	}
	var rejected []Rejected
	for part := range slices.Chunk(rows, max(s.store.BatchLimit(), 1)) {
		r, err := s.decideAll(ctx, part, from)
		if err != nil {
			return nil, err
		}
		rejected = append(rejected, r...)
	}
	return rejected, nil
}

// decideAll runs the batch until the store takes it: a value the store refuses makes its row bad, and the batch
// is decided again without it, since what the others carry along may depend on it.
func (s *Sorter) decideAll(ctx context.Context, rows []events.RowVersion, via string) ([]Rejected, error) {
	unstorable := map[string]string{}
	for attempt, conflicts := 1, 0; ; attempt++ {
		b, err := s.attempt(ctx, rows, via, unstorable, attempt)
		var refused *UnstorableError
		if errors.As(err, &refused) && !hasAll(unstorable, refused.Reasons) {
			maps.Copy(unstorable, refused.Reasons)
			continue
		}
		if errors.Is(err, ErrConflict) && conflicts < maxConflicts {
			conflicts++
			pace.Sleep(ctx, conflictPause(conflicts))
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(b.tree.changed) > 0 {
			s.tree.committed(b.written.TreeVersion, b.tree.changed)
		}
		s.hint.learn(b.ledger)
		s.report(b)
		return b.rejected, nil
	}
}

// maxConflicts bounds how often a batch is decided again after the store aborted it for a conflict; past it the
// error goes to the router's retry, with backoff and a report.
const maxConflicts = 5

// conflictPause is a random wait before deciding a batch again after its nth conflict, up to 25 ms × 2ⁿ: the
// holder it gave up on is usually a batch about to commit, and two batches that gave up on each other must not
// meet again at once.
func conflictPause(n int) time.Duration {
	return rand.N(25 * time.Millisecond << n)
}

// newBatch starts a batch of about rows row versions. Its ledger map is sized for them and a registration each:
// grown from empty, it was the largest allocation of a 1x catch-up (943 MB of 11.5 GB; sized, 578 of 11.1). The
// ledger entries it decides are as many as its rows (629 MB grown from empty).
func (s *Sorter) newBatch(ctx context.Context, tx Tx, unstorable map[string]string, rows int) *batch {
	version, orgs := s.tree.snapshot()
	return &batch{
		sorter: s, units: s.units.Load(), tx: tx, tree: treeView{version: version, base: orgs},
		ledger: make(map[Ref]seen, 2*rows), unstorable: unstorable,
		out:   writeSet{ledger: lastPerRow[ledgerWrite]{order: make([]Ref, 0, rows), last: make(map[Ref]ledgerWrite, rows)}},
		trail: newTrail(ctx),
	}
}

func (s *Sorter) attempt(ctx context.Context, rows []events.RowVersion, via string, unstorable map[string]string, attempt int) (*batch, error) {
	ctx, span := startStore(ctx, rows, attempt)
	var b *batch
	err := s.store.Apply(ctx, func(tx Tx) error {
		tx = tracedTx{Tx: tx, span: span}
		b = s.newBatch(ctx, tx, unstorable, len(rows))
		if changesTree(rows) {
			if err := tx.LockTree(ctx); err != nil {
				return err
			}
		}
		return b.run(ctx, rows, via)
	})
	spans.End(span, err)
	return b, err
}

func changesTree(rows []events.RowVersion) bool {
	for _, v := range rows {
		if v.Table == events.OrgTreeKind.Table {
			return true
		}
	}
	return false
}

func hasAll(have, more map[string]string) bool {
	for k := range more {
		if _, ok := have[k]; !ok {
			return false
		}
	}
	return true
}

var divisionCode = regexp.MustCompile(`^[0-9]{6}$`)

// decodeRow parses and checks a captured row's generic invariants; kind-specific ones are the jurisdiction's.
// Deciding reads a handful of columns, so the usual row is read for those alone; anything unusual about it (not
// valid JSON, large enough that a field may be over the limit, a column that is an object) takes the full
// decode, which names the problem.
func decodeRow(v events.RowVersion) (jurisdiction.Row, error) {
	kind, ok := events.KindByTable(v.Table)
	if !ok {
		return nil, &BadRowError{Table: v.Table, ID: v.ID, Reason: "unknown table"}
	}
	if row, ok := decodeDeciding(kind, v); ok {
		return row, nil
	}
	return decodeFull(v)
}

// decidingColumns are the columns deciding a row of a kind reads, and those decodeRow checks.
func decidingColumns(k events.Kind) map[string]bool {
	cols := map[string]bool{"id": true, "is_deleted": true, "parent_id": true, "division_code": true, "business_division_code": true}
	for _, c := range []string{k.OrgColumn, k.RegistrationColumn, k.DivisionColumn} {
		if c != "" {
			cols[c] = true
		}
	}
	return cols
}

// decidingByTable is decidingColumns of every kind, computed once.
var decidingByTable = func() map[string]map[string]bool {
	m := map[string]map[string]bool{}
	for _, k := range events.Catalogue {
		m[k.Table] = decidingColumns(k)
	}
	return m
}()

// decodeDeciding reads only the deciding columns, in one pass; ok is false when the row needs the full decode.
func decodeDeciding(kind events.Kind, v events.RowVersion) (jurisdiction.Row, bool) {
	if len(v.Payload) > MaxFieldBytes || !gjson.ValidBytes(v.Payload) {
		return nil, false
	}
	doc := gjson.ParseBytes(v.Payload)
	if !doc.IsObject() {
		return nil, false
	}
	wanted, row, ok := decidingByTable[kind.Table], jurisdiction.Row{}, true
	doc.ForEach(func(key, r gjson.Result) bool {
		if !wanted[key.Str] {
			return true
		}
		switch r.Type {
		case gjson.String:
			row[key.Str] = r.Str
		case gjson.Number:
			row[key.Str] = r.Num
		case gjson.True, gjson.False:
			row[key.Str] = r.Bool()
		case gjson.Null:
			row[key.Str] = nil
		default:
			ok = false // an object or array: the full decode keeps its Go type for the error
		}
		return ok
	})
	return row, ok && checkRow(v, row) == nil
}

// decodeFull decodes every column, and says what is wrong with the row.
func decodeFull(v events.RowVersion) (jurisdiction.Row, error) {
	var row jurisdiction.Row
	if err := json.Unmarshal(v.Payload, &row); err != nil {
		return nil, &BadRowError{Table: v.Table, ID: v.ID, Reason: fmt.Sprintf("payload is not a JSON object: %v", err)}
	}
	if err := checkRow(v, row); err != nil {
		return nil, err
	}
	return row, nil
}

// checkRow checks the generic invariants: the payload names the row, no text is over the limit, division codes
// are six digits.
func checkRow(v events.RowVersion, row jurisdiction.Row) error {
	bad := func(format string, args ...any) error {
		return &BadRowError{Table: v.Table, ID: v.ID, Reason: fmt.Sprintf(format, args...)}
	}
	if id, _ := row["id"].(string); id != v.ID || id == "" {
		return bad("payload id %q does not match the event's row id", row["id"])
	}
	for col, val := range row {
		s, isText := val.(string)
		if isText && len(s) > MaxFieldBytes {
			return bad("column %s is %d bytes, over the %d limit", col, len(s), MaxFieldBytes)
		}
		if isText && s != "" && (col == "division_code" || col == "business_division_code") && !divisionCode.MatchString(s) {
			return bad("column %s is not a six-digit GB/T 2260 code", col)
		}
	}
	return nil
}

// asBadRow turns a jurisdiction or store error about the row's content into a BadRowError.
func asBadRow(v events.RowVersion, err error) error {
	var bad *BadRowError
	if errors.As(err, &bad) {
		return err
	}
	if errors.Is(err, jurisdiction.ErrBadRow) || errors.Is(err, jurisdiction.ErrBadTree) {
		return &BadRowError{Table: v.Table, ID: v.ID, Reason: err.Error()}
	}
	return err
}
