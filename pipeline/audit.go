package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/audit"
	"hotline-bridge/infra/postgres"
)

// ErrNoJourney says the audit trail knows nothing of what was asked for; the command exits 1 with it.
var ErrNoJourney = errors.New("no hops recorded")

// Audit prints the journey q names from the audit trail: a readable timeline, or with asJSON one JSON object per
// line and hop.
func Audit(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer, q audit.Query, asJSON bool) error {
	if err := q.Validate(); err != nil {
		return err
	}
	db, err := openDatabase(ctx, log, "store database", cfg.StoreURL)
	if err != nil {
		return err
	}
	defer db.Close()
	hops, err := postgres.NewAuditTrail(db).Journey(ctx, q)
	if err != nil {
		return err
	}
	if len(hops) == 0 {
		return fmt.Errorf("%w for %s: the audit trail has never seen it (or its hops are older than audit_retention)", ErrNoJourney, q)
	}
	if asJSON {
		return writeHopLines(out, hops)
	}
	return writeTimeline(out, q, hops)
}

// hopLine is a hop as `bridge audit --json` prints it: every key present, null where it does not apply.
type hopLine struct {
	Hop       string            `json:"hop"`
	At        time.Time         `json:"at"`
	Table     string            `json:"table"`
	ID        string            `json:"id"`
	Version   *string           `json:"version"`
	Unit      *string           `json:"unit"`
	Topic     *string           `json:"topic"`
	Partition *int32            `json:"partition"`
	Offset    *int64            `json:"offset"`
	CeID      *string           `json:"ce_id"`
	TraceID   *string           `json:"trace_id"`
	Detail    *events.HopDetail `json:"detail"`
	RegNo     *string           `json:"reg_no"`
	HopID     string            `json:"hop_id"`
}

func writeHopLines(out io.Writer, hops []events.Hop) error {
	enc := json.NewEncoder(out)
	for _, h := range hops {
		line := hopLine{
			Hop: h.Hop, At: h.At, Table: h.Table, ID: h.RowID, Unit: orNull(h.Unit), Topic: orNull(h.Topic),
			Partition: h.Partition, Offset: h.Offset, CeID: orNull(h.CeID), TraceID: orNull(h.TraceID), Detail: h.Detail,
			RegNo: orNull(h.RegNo), HopID: h.ID,
		}
		if !h.Version.IsZero() {
			v := h.Version.UTC().Format(time.RFC3339Nano)
			line.Version = &v
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// writeTimeline prints one line per hop, oldest first, in columns: when, what, which row version, where.
func writeTimeline(out io.Writer, q audit.Query, hops []events.Hop) error {
	fmt.Fprintf(out, "journey of %s: %d hops\n", q, len(hops))
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AT\tHOP\tROW\tVERSION\tWHERE\tDETAIL")
	for _, h := range hops {
		fmt.Fprintf(w, "%s\t%s\t%s %s\t%s\t%s\t%s\n", h.At.UTC().Format("2006-01-02 15:04:05.000"), h.Hop, h.Table, h.RowID,
			h.Version.UTC().Format(time.RFC3339), where(h), detail(h))
	}
	return w.Flush()
}

// where is the unit a hop concerns and the record it names: "420106 wuhan12315.420106[3]@41".
func where(h events.Hop) string {
	var parts []string
	if h.Unit != "" {
		parts = append(parts, h.Unit)
	}
	if h.Topic != "" {
		record := h.Topic
		if h.Partition != nil && h.Offset != nil {
			record += "[" + strconv.Itoa(int(*h.Partition)) + "]@" + strconv.FormatInt(*h.Offset, 10)
		}
		parts = append(parts, record)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func detail(h events.Hop) string {
	var s string
	if d := h.Detail; d != nil {
		for _, part := range [][2]string{{"rule", d.Rule}, {"waiting for", d.Waiting}, {"reason", d.Reason}, {"via", d.Via}, {"event", d.Event}, {"caller", d.Caller}} {
			if part[1] != "" {
				s += part[0] + " " + part[1] + "; "
			}
		}
	}
	if h.CeID != "" {
		s += "ce_id " + h.CeID + "; "
	}
	if h.TraceID != "" {
		s += "trace " + h.TraceID + "; "
	}
	if s == "" {
		return "-"
	}
	return s[:len(s)-2]
}
