package sort

import (
	"context"
	"time"

	"github.com/tidwall/gjson"
	"go.opentelemetry.io/otel/trace"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// Origin is the capture record a batch's rows came in: the captured hop names it.
type Origin struct {
	Topic     string
	Partition int32
	Offset    int64
	At        time.Time // when the record was written to the capture topic
}

type originKey struct{}

// WithOrigin tells SortBatch which capture record its rows came in.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

func originFrom(ctx context.Context) (Origin, bool) {
	o, ok := ctx.Value(originKey{}).(Origin)
	return o, ok
}

// trail gathers the hops of a batch: the journey of every row version it decides that is, or was, Wuhan's, and
// of every row that must wait for its parent (it may yet be). National rows that never were Wuhan's leave no hop
// of their own: the download log accounts for them page by page.
type trail struct {
	origin  *Origin
	traceID string
	at      time.Time
	hops    []events.Hop
}

func newTrail(ctx context.Context) trail {
	t := trail{at: time.Now().UTC()}
	if o, ok := originFrom(ctx); ok {
		t.origin = &o
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		t.traceID = sc.TraceID().String()
	}
	return t
}

// decided records how the row came in and what was decided: a unit (or the broadcast), a row leaving Wuhan, or
// a row parked for its parent.
func (t *trail) decided(it *item, verdict jurisdiction.Verdict, unit string) {
	t.captured(it)
	detail := &events.HopDetail{Rule: verdict.Rule, Via: it.via}
	switch {
	case verdict.Waiting != nil:
		unit, detail.Waiting = events.UnitParked, verdict.Waiting.Table+" "+verdict.Waiting.ID
	case unit == "":
		unit = events.UnitNotWuhan
	}
	t.add(it, events.HopDecided, unit, detail)
}

// captured names the capture record the row came in, or how the batch brought it in otherwise.
func (t *trail) captured(it *item) {
	h := t.hop(it, events.HopCaptured, "")
	switch {
	case it.carried || it.replayed != "":
		h.Detail = &events.HopDetail{Via: it.via}
	case t.origin != nil:
		h.At, h.Topic = t.origin.At, t.origin.Topic
		h.Partition, h.Offset = &t.origin.Partition, &t.origin.Offset
	}
	t.hops = append(t.hops, h)
}

func (t *trail) stored(it *item, unit, eventType string) {
	t.add(it, events.HopStored, unit, &events.HopDetail{Event: eventType})
}

func (t *trail) removed(it *item, unit string) { t.add(it, events.HopRemoved, unit, nil) }

func (t *trail) quarantined(it *item, reason string) {
	t.captured(it)
	t.add(it, events.HopQuarantined, "", &events.HopDetail{Reason: reason})
}

func (t *trail) add(it *item, hop, unit string, detail *events.HopDetail) {
	h := t.hop(it, hop, unit)
	h.Detail = detail
	t.hops = append(t.hops, h)
}

func (t *trail) hop(it *item, hop, unit string) events.Hop {
	h := events.Hop{
		Hop: hop, At: t.at, Table: it.v.Table, RowID: it.v.ID, Version: it.v.UpdateTime, Unit: unit,
		Registration: registrationOf(it), TraceID: t.traceID,
	}
	if it.kind.WorkOrder {
		h.Registration = it.v.ID
		h.RegNo = gjson.GetBytes(it.v.Payload, "reg_no").String()
	}
	return h
}

// QuarantineHops are the hops of a row version set aside outside a batch (a row the sorter rejected, recorded
// from the quarantine topic): captured in the record ctx names, and quarantined with the reason.
func QuarantineHops(ctx context.Context, v events.RowVersion, reason string) []events.Hop {
	t := newTrail(ctx)
	t.quarantined(newItem(v, ""), reason)
	return t.hops
}

// audited reports whether a decision belongs in the trail: the row is or was Wuhan's, or waits for its parent.
func audited(verdict jurisdiction.Verdict, to, prev Placement) bool {
	return to.Unit != "" || prev.Unit != "" || verdict.Waiting != nil
}
