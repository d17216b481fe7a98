package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/audit"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/pipeline"
)

// auditLine is one line of `bridge audit --json`; the pointers tell a null from a value.
type auditLine struct {
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
}

func (l auditLine) unit() string { return deref(l.Unit) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func auditJSON(t *testing.T, e *bridgeEnv, q audit.Query) []auditLine {
	t.Helper()
	var out bytes.Buffer
	if err := pipeline.Audit(context.Background(), e.cfg, quietLogger(), &out, q, true); err != nil {
		t.Fatalf("bridge audit %s: %v", q, err)
	}
	var lines []auditLine
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		raw := map[string]json.RawMessage{}
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		for _, key := range []string{"hop", "at", "table", "id", "version", "unit", "topic", "partition", "offset", "ce_id", "trace_id", "detail"} {
			if _, ok := raw[key]; !ok {
				t.Fatalf("audit line %s lacks the key %q", sc.Text(), key)
			}
		}
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	return lines
}

// The done-when of the accounting work: a registration transferred from one district to another shows its whole
// journey and its family's — captured, decided, stored, published in the old unit, removed, published in the new —
// and every published hop names the very record kcat reads at that partition and offset.
func TestAuditShowsTheJourneyOfATransferredRegistrationAndItsFamily(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	e.exec(t, treeSQL)
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ('R1', now() - interval '1 hour', '420106-2026-000123', 1, 'ORG-420106')`)
	e.exec(t, `INSERT INTO subject (id, update_time, registration_id, name, uscc) VALUES ('S1', now() - interval '50 minutes', 'R1', '武汉某公司', '91420106MA4KXXXX1X')`)
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ('R2', now() - interval '1 hour', '110105-2026-000001', 1, NULL)`)
	e.runUntilIdle(t)
	e.exec(t, `UPDATE registration SET handle_dept_id = 'ORG-420102', update_time = now() - interval '10 minutes' WHERE id = 'R1'`)
	e.runUntilIdle(t)

	lines := auditJSON(t, e, audit.Query{RegNo: "420106-2026-000123"})
	var reg, sub []auditLine
	for _, l := range lines {
		switch l.Table + " " + l.ID {
		case "registration R1":
			reg = append(reg, l)
		case "subject S1":
			sub = append(sub, l)
		default:
			t.Errorf("hop of %s %s in the journey of R1's family", l.Table, l.ID)
		}
	}
	assertHops(t, "registration R1", reg, []string{
		"captured", "decided 420106", "stored 420106", "published 420106",
		"captured", "decided 420102", "stored 420102", "removed 420106", "published 420102", "published 420106"})
	// The subject follows its work order: re-read from upstream when R1 moved.
	assertHops(t, "subject S1", sub, []string{
		"captured", "decided 420106", "stored 420106", "published 420106",
		"captured", "decided 420102", "stored 420102", "removed 420106", "published 420102", "published 420106"})
	// The subject came in its capture record; R1 too, unless the subject's batch, finding its work order missing,
	// pulled R1 from upstream first (then R1's own capture record is a duplicate, and says nothing new).
	if c := sub[0]; deref(c.Topic) != events.CaptureTopic(e.cfg.TopicPrefix, events.Subject) || c.Partition == nil || c.Offset == nil {
		t.Errorf("subject's first captured hop %+v does not name its capture record", c)
	}
	first, moved := reg[0], reg[4]
	pulled := first.Detail != nil && first.Detail.Via == events.ViaUpstream
	if !pulled && (deref(first.Topic) != events.CaptureTopic(e.cfg.TopicPrefix, events.Registration) || first.Partition == nil || first.Offset == nil) {
		t.Errorf("first captured hop %+v neither names its capture record nor says it was pulled from upstream", first)
	}
	if d := reg[1].Detail; d == nil || d.Rule != "org" {
		t.Errorf("decided hop %+v does not say the organisation rule decided", reg[1])
	}
	if d := sub[1].Detail; d == nil || d.Rule != "registration" {
		t.Errorf("subject's decided hop %+v does not say its registration decided", sub[1])
	}
	if d := sub[4].Detail; d == nil || d.Via != events.ViaUpstream {
		t.Errorf("subject's second captured hop %+v does not say it was re-read from upstream", sub[4])
	}
	if *first.Version == *moved.Version {
		t.Errorf("both captured hops name version %s; the transfer is a newer one", *first.Version)
	}
	assertPublishedHopsMatchKcat(t, e, append(reg, sub...))

	var text bytes.Buffer
	if err := pipeline.Audit(context.Background(), e.cfg, quietLogger(), &text, audit.Query{Table: events.Subject, ID: "S1"}, false); err != nil {
		t.Fatal(err)
	}
	t.Logf("bridge audit --table subject --id S1:\n%s", text.String())
	if got := strings.Count(text.String(), "\n"); got != len(sub)+2 {
		t.Errorf("timeline of subject S1 has %d lines, want a title, a header and %d hops:\n%s", got, len(sub), text.String())
	}
	for _, want := range []string{"journey of subject S1: 10 hops", "removed", "420102 " + events.UnitTopic(e.cfg.TopicPrefix, "420102") + "["} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("timeline lacks %q:\n%s", want, text.String())
		}
	}
	// R2 is not Wuhan's and never was: the trail keeps nothing of it.
	err := pipeline.Audit(context.Background(), e.cfg, quietLogger(), &text, audit.Query{RegNo: "110105-2026-000001"}, true)
	if !errors.Is(err, pipeline.ErrNoJourney) || !strings.Contains(err.Error(), "110105-2026-000001") {
		t.Errorf("audit of a registration never Wuhan's = %v, want ErrNoJourney naming it", err)
	}
}

// assertHops compares a row's hops, in order, with "hop [unit]" strings.
func assertHops(t *testing.T, row string, got []auditLine, want []string) {
	t.Helper()
	names := make([]string, len(got))
	for i, l := range got {
		names[i] = strings.TrimSpace(l.Hop + " " + l.unit())
	}
	// Hops recorded in one transaction share a time; the two published hops of a transfer go out in one batch.
	if fmt.Sprint(sortTail(names)) != fmt.Sprint(sortTail(want)) {
		t.Errorf("%s hops:\n got %v\nwant %v", row, names, want)
	}
}

// sortTail orders the published hops at the end, which one forwarding batch records together in outbox order.
func sortTail(names []string) []string {
	out := append([]string(nil), names...)
	n := len(out)
	if n >= 2 && strings.HasPrefix(out[n-1], "published") && strings.HasPrefix(out[n-2], "published") && out[n-1] < out[n-2] {
		out[n-1], out[n-2] = out[n-2], out[n-1]
	}
	return out
}

// assertPublishedHopsMatchKcat reads each unit topic a published hop names with kcat, and checks the record at
// that partition and offset is that event: its ce_id and row.
func assertPublishedHopsMatchKcat(t *testing.T, e *bridgeEnv, lines []auditLine) {
	t.Helper()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed; the test command (go tool task test) installs it")
	}
	records := map[string]kafka.Record{} // "topic/partition/offset"
	for _, unit := range []string{"420102", "420106"} {
		topic := events.UnitTopic(e.cfg.TopicPrefix, unit)
		out, err := exec.Command(kcat, "-C", "-b", e.cfg.KafkaBrokers[0], "-t", topic, "-e", "-J", "-q").Output()
		if err != nil {
			t.Fatalf("kcat %s: %v", topic, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var msg struct {
				Topic     string   `json:"topic"`
				Partition int32    `json:"partition"`
				Offset    int64    `json:"offset"`
				Headers   []string `json:"headers"`
			}
			if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
				t.Fatalf("kcat line %q: %v", sc.Text(), err)
			}
			headers := map[string]string{}
			for i := 0; i+1 < len(msg.Headers); i += 2 {
				headers[msg.Headers[i]] = msg.Headers[i+1]
			}
			records[fmt.Sprintf("%s/%d/%d", msg.Topic, msg.Partition, msg.Offset)] = kafka.Record{Headers: headers}
		}
	}
	published := 0
	for _, l := range lines {
		if l.Hop != events.HopPublished {
			continue
		}
		published++
		if l.Partition == nil || l.Offset == nil || l.CeID == nil {
			t.Fatalf("published hop %+v lacks partition, offset or ce_id", l)
		}
		r, ok := records[fmt.Sprintf("%s/%d/%d", deref(l.Topic), *l.Partition, *l.Offset)]
		switch {
		case !ok:
			t.Errorf("published hop names %s[%d]@%d, where kcat reads nothing", deref(l.Topic), *l.Partition, *l.Offset)
		case l.TraceID == nil || !strings.Contains(r.Headers[events.HeaderTraceParent], *l.TraceID):
			t.Errorf("published hop of %s %s has trace id %v; the record's traceparent is %s", l.Table, l.ID, deref(l.TraceID), r.Headers[events.HeaderTraceParent])
		case r.Headers[events.HeaderID] != *l.CeID || r.Headers[events.HeaderSubject] != l.ID:
			t.Errorf("published hop of %s %s (ce_id %s) names a record of %s with ce_id %s", l.Table, l.ID, *l.CeID,
				r.Headers[events.HeaderSubject], r.Headers[events.HeaderID])
		}
	}
	if published == 0 {
		t.Fatal("no published hops to check")
	}
}
