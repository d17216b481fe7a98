package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"hotline-bridge/events"
	"hotline-bridge/handlers/report"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
)

// Work orders of unit 420106 whose time limits fall due between 2025-10-10 and 2025-10-16, around the National
// Day holiday (Oct 1–8, make-up workdays Sep 28 and Oct 11):
//   - RPT-A1, A2, A3: complaints registered Sep 30 / Oct 1, due Oct 16 (Oct 9, 10, 11, 13, 14, 15, 16): A1 decided
//     Oct 16 (met), A2 Oct 17 (overdue), A3 never (overdue);
//   - RPT-M1: a complaint accepted Fri Aug 1 and under mediation, due Oct 10 (45 working days: 40 to Sep 26, then
//     Sep 28, 29, 30, Oct 9, 10); mediated Oct 13 (overdue);
//   - RPT-C1: a report whose case was filed Sep 30, the reporter due to be told by Oct 14 (Oct 9, 10, 11, 13, 14);
//     told Oct 14 (met).
const timeLimitRowsSQL = `
INSERT INTO registration (id, update_time, reg_no, kind, status, handle_dept_id, registered_at) VALUES
	('RPT-A1', now() - interval '1 hour', 'RPTN-A1', 1, '30', 'ORG-420106', '2025-09-30 10:00+08'),
	('RPT-A2', now() - interval '1 hour', 'RPTN-A2', 1, '60', 'ORG-420106', '2025-09-30 11:00+08'),
	('RPT-A3', now() - interval '1 hour', 'RPTN-A3', 1, '20', 'ORG-420106', '2025-10-01 04:00+08'),
	('RPT-M1', now() - interval '1 hour', 'RPTN-M1', 1, '40', 'ORG-420106', '2025-07-25 10:00+08'),
	('RPT-C1', now() - interval '1 hour', 'RPTN-C1', 2, '50', 'ORG-420106', '2025-09-20 10:00+08');
INSERT INTO initial_feedback (id, update_time, registration_id, dept_id, result, feedback_at) VALUES
	('RPT-F1', now() - interval '1 hour', 'RPT-A1', 'ORG-420106', '1', '2025-10-16 17:00+08'),
	('RPT-F2', now() - interval '1 hour', 'RPT-A2', 'ORG-420106', '2', '2025-10-17 09:00+08'),
	('RPT-F3', now() - interval '1 hour', 'RPT-M1', 'ORG-420106', '1', '2025-08-01 10:00+08');
INSERT INTO mediation (id, update_time, registration_id, dept_id, result, mediated_at) VALUES
	('RPT-MED1', now() - interval '1 hour', 'RPT-M1', 'ORG-420106', '1', '2025-10-13 10:00+08');
INSERT INTO case_info (id, update_time, registration_id, case_no, filing_org_id, filed_at) VALUES
	('RPT-CASE1', now() - interval '1 hour', 'RPT-C1', 'RPT-CASE-NO-1', 'ORG-420106', '2025-09-30 15:00+08');
INSERT INTO final_feedback (id, update_time, registration_id, dept_id, result, finished_at) VALUES
	('RPT-FF1', now() - interval '1 hour', 'RPT-C1', 'ORG-420106', '3', '2025-10-14 18:00+08');`

// One bad row per validation rule, all of unit 420106 or waiting for a parent that never comes.
const badRowsSQL = `
INSERT INTO registration (id, update_time, reg_no, kind, status, handle_dept_id, registered_at) VALUES
	('RPT-NOSTATUS', now() - interval '1 hour', 'RPTN-NOSTATUS', 1, NULL, 'ORG-420106', now() - interval '2 hours'),
	('RPT-BADKIND', now() - interval '1 hour', 'RPTN-BADKIND', 7, '20', 'ORG-420106', now() - interval '2 hours'),
	('RPT-FUTURE', now() - interval '1 hour', 'RPTN-FUTURE', 3, '20', 'ORG-420106', '2099-01-01 00:00+08');
INSERT INTO initial_feedback (id, update_time, registration_id, dept_id, result, feedback_at) VALUES
	('RPT-EARLY', now() - interval '1 hour', 'RPT-BADKIND', 'ORG-420106', '1', now() - interval '3 hours');
INSERT INTO object (id, update_time, registration_id, category, name, amount) VALUES
	('RPT-NEG', now() - interval '1 hour', 'RPT-BADKIND', '家用电器', '电冰箱', -5),
	('RPT-BIG', now() - interval '1 hour', 'RPT-BADKIND', '家用电器', repeat('货', 6000), 10);
INSERT INTO info_provider (id, update_time, registration_id) VALUES ('RPT-WAIT', now() - interval '1 hour', 'RPT-NEVER');
INSERT INTO subject (id, update_time, registration_id) VALUES ('RPT-GONE', now() - interval '1 hour', 'RPT-NEVER-2');`

// The report's numbers, checked against SQL of the test's own over a seeded run with bad rows, an orphan, a
// repaired topic and a district consumer group that has read half of its topic; its files carry no personal data.
func TestReportNumbersMatchTheStoreTheBrokerAndTheRules(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	ctx := context.Background()
	if _, err := seed.Generate(ctx, e.upstream, seed.Options{Registrations: 600, WuhanShare: 0.3, Seed: 16}); err != nil {
		t.Fatal(err)
	}
	e.exec(t, timeLimitRowsSQL)
	e.exec(t, badRowsSQL)
	e.runUntilIdle(t)
	store := storeQuerier(t, e)
	// RPT-GONE's parent never came: age its parking past orphan_after, and the next run quarantines it.
	if _, err := store.db.Exec(ctx, `UPDATE bridge.parked SET parked_at = now() - interval '2 days' WHERE id = 'RPT-GONE'`); err != nil {
		t.Fatal(err)
	}
	e.runUntilIdle(t)
	// A unit topic loses its records; reconciliation re-sends them.
	deleteAllRecords(t, e, events.UnitTopic(e.cfg.TopicPrefix, "420102"))
	if _, err := reconcileOnce(t, e, false); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	const group = "district-420106-report"
	e.cfg.ConsumerGroups = map[string]string{"420106": group}
	committed, ends := commitHalf(t, e, events.UnitTopic(e.cfg.TopicPrefix, "420106"), group)

	today := report.DayOf(time.Now())
	from, to := today.AddDays(-40), today
	out := t.TempDir()
	var printed bytes.Buffer
	runReport(t, e, &printed, pipeline.ReportOptions{From: from.String(), To: to.String(), JSON: true, Out: out})
	var r report.Report
	if err := json.Unmarshal(printed.Bytes(), &r); err != nil {
		t.Fatalf("bridge report --json: %v\n%.500s", err, printed.String())
	}
	period := report.Period{First: from, Last: to}
	checkCapture(t, e, store, r, period)
	checkFlow(t, store, r, period)
	checkAcknowledged(t, r, committed, ends)
	checkWorkOrders(t, store, r, period)
	checkFindings(t, store, r)
	checkReconciliation(t, store, r, period)

	var limits bytes.Buffer
	runReport(t, e, &limits, pipeline.ReportOptions{From: "2025-10-10", To: "2025-10-16", JSON: true})
	checkTimeLimits(t, limits.Bytes())

	var text bytes.Buffer
	runReport(t, e, &text, pipeline.ReportOptions{Day: today.String()})
	for _, want := range []string{"report " + today.String(), "RPT-NOSTATUS", "orphan_waiting", group} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the terminal summary does not show %q:\n%.2000s", want, text.String())
		}
	}
	checkPage(t, filepath.Join(out, "report.html"), r)
	checkNoPersonalData(t, e, out, text.String(), printed.String())
}

func runReport(t *testing.T, e *bridgeEnv, w io.Writer, opts pipeline.ReportOptions) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pipeline.Report(ctx, e.cfg, quietLogger(), w, opts); err != nil {
		t.Fatalf("bridge report %+v: %v", opts, err)
	}
}

// commitHalf commits, for a district's group, half of every partition of its unit topic, as a consumer that
// stopped halfway would; it returns the committed offsets and the partitions' ends.
func commitHalf(t *testing.T, e *bridgeEnv, topic, group string) (committed, ends map[int32]int64) {
	t.Helper()
	ctx := context.Background()
	offsets := kafka.NewOffsets(kafka.Config{Brokers: e.cfg.KafkaBrokers, Version: e.cfg.KafkaVersion})
	defer offsets.Close()
	spans, _, err := offsets.Partitions(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	committed, ends = map[int32]int64{}, map[int32]int64{}
	commit := kadm.Offsets{}
	for p, s := range spans {
		committed[p], ends[p] = s.End/2, s.End
		commit.Add(kadm.Offset{Topic: topic, Partition: p, At: s.End / 2, LeaderEpoch: -1})
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cfg.KafkaBrokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CommitOffsets(ctx, group, commit)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("commit %s for %s: %v", topic, group, err)
	}
	return committed, ends
}

func checkCapture(t *testing.T, e *bridgeEnv, store storeDB, r report.Report, p report.Period) {
	t.Helper()
	got := map[string]int64{}
	for _, l := range r.Capture {
		got[l.Table] = l.RowsPublished
	}
	for _, k := range events.Catalogue {
		want := store.count(t, fmt.Sprintf(`SELECT coalesce(sum(rows_published), 0) FROM bridge.download_log
			WHERE table_name = '%s' AND started_at >= '%s' AND started_at < '%s'`, k.Table, sqlTime(p.From()), sqlTime(p.To())))
		upstream := countUpstream(t, e, k.Table)
		if got[k.Table] != int64(want) || want < upstream {
			t.Errorf("captured %s: report %d, download log %d, upstream rows %d (each published at least once)", k.Table, got[k.Table], want, upstream)
		}
	}
}

func countUpstream(t *testing.T, e *bridgeEnv, table string) int {
	t.Helper()
	var n int
	if err := e.upstream.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func sqlTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// checkFlow compares each unit's and table's numbers with the outbox, what the store holds with what replaying
// the unit's outbox yields (the rows whose latest event there is not a removal), and what was captured for the
// unit with the audit trail's decisions.
func checkFlow(t *testing.T, store storeDB, r report.Report, p report.Period) {
	t.Helper()
	rows, err := store.db.Query(context.Background(), `
		WITH latest AS (SELECT DISTINCT ON (unit_code, table_name, row_id) unit_code, table_name, event_type
			FROM bridge.outbox ORDER BY unit_code, table_name, row_id, seq DESC)
		SELECT u.unit_code, u.table_name,
			(SELECT count(*) FROM bridge.outbox o WHERE o.unit_code = u.unit_code AND o.table_name = u.table_name
				AND o.created_at >= $1 AND o.created_at < $2 AND o.event_type NOT LIKE '%removed'),
			(SELECT count(*) FROM bridge.outbox o WHERE o.unit_code = u.unit_code AND o.table_name = u.table_name
				AND o.published_at >= $1 AND o.published_at < $2),
			(SELECT count(*) FROM latest l WHERE l.unit_code = u.unit_code AND l.table_name = u.table_name AND l.event_type NOT LIKE '%removed'),
			(SELECT count(*) FROM bridge.audit_hop h WHERE h.hop = 'decided' AND h.unit_code = u.unit_code AND h.table_name = u.table_name
				AND h.at >= $1 AND h.at < $2)
		FROM (SELECT DISTINCT unit_code, table_name FROM bridge.outbox) u`, p.From(), p.To())
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]string][4]int64{}
	for rows.Next() {
		var unit, table string
		var n [4]int64
		if err := rows.Scan(&unit, &table, &n[0], &n[1], &n[2], &n[3]); err != nil {
			t.Fatal(err)
		}
		want[[2]string{unit, table}] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	got := map[[2]string][4]int64{}
	for _, l := range r.Flow {
		got[[2]string{l.Unit, l.Table}] = [4]int64{l.Stored, l.Published, l.Held, l.Captured}
	}
	if len(want) < 30 {
		t.Fatalf("the outbox holds %d unit tables: the seed did not exercise the report", len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("flow %s %s: report stored/published/held/captured %v, outbox and audit trail %v", k[0], k[1], got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("the report has %d unit tables, the outbox %d", len(got), len(want))
	}
}

// checkAcknowledged: the group committed half of each partition of 420106's topic, whose every event the
// outbox published in the period; the report counts exactly the events below the committed offsets.
func checkAcknowledged(t *testing.T, r report.Report, committed, ends map[int32]int64) {
	t.Helper()
	var wantAcked, wantPublished int64
	for p := range committed {
		wantAcked, wantPublished = wantAcked+committed[p], wantPublished+ends[p]
	}
	if len(r.Groups) != 1 || r.Groups[0].Unit != "420106" || r.Groups[0].Acknowledged != wantAcked ||
		r.Groups[0].Published != wantPublished || r.Groups[0].Error != "" || wantAcked == 0 {
		t.Errorf("consumer groups %+v, want 420106 with %d acknowledged of %d published", r.Groups, wantAcked, wantPublished)
	}
	var acked int64
	for _, l := range r.Flow {
		switch {
		case l.Unit == "420106" && l.Acknowledged != nil:
			acked += *l.Acknowledged
		case l.Unit == "420106":
			t.Errorf("flow 420106 %s: acknowledged not measured", l.Table)
		case l.Acknowledged != nil:
			t.Errorf("flow %s %s: acknowledged %d, but the unit has no consumer group", l.Unit, l.Table, *l.Acknowledged)
		}
	}
	if acked != wantAcked {
		t.Errorf("420106's tables acknowledged %d in all, want %d", acked, wantAcked)
	}
}

func checkWorkOrders(t *testing.T, store storeDB, r report.Report, p report.Period) {
	t.Helper()
	rows, err := store.db.Query(context.Background(), `SELECT unit_code, coalesce(kind::text, ''), coalesce(status, ''), count(*)
		FROM wuhan.registration WHERE NOT is_deleted AND registered_at >= $1 AND registered_at < $2 GROUP BY 1, 2, 3`, p.From(), p.To())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for rows.Next() {
		var unit, kind, status string
		var n int64
		if err := rows.Scan(&unit, &kind, &status, &n); err != nil {
			t.Fatal(err)
		}
		want[unit+" "+kind+" "+status] = n
	}
	got := map[string]int64{}
	labels := map[string]string{}
	for _, w := range r.WorkOrders {
		got[w.Unit+" "+w.Kind+" "+w.Status] = w.Count
		labels[w.Kind] = w.KindLabel
	}
	if !maps.Equal(got, want) || len(want) < 20 {
		t.Errorf("work orders by unit, kind and status:\nreport %v\nstore  %v", got, want)
	}
	if labels["1"] != "投诉" || labels["2"] != "举报" || labels["3"] != "咨询" || labels["7"] != "" {
		t.Errorf("kind labels %v, want the dictionary's 投诉, 举报, 咨询 and none for the unknown 7", labels)
	}
}

// checkFindings: every rule finds exactly the rows SQL of the test's own finds (on a fresh run every stored row
// was stored in the period), and each seeded bad row where it belongs.
func checkFindings(t *testing.T, store storeDB, r report.Report) {
	t.Helper()
	got := map[string][]string{}
	for _, f := range r.FindingRows {
		key := f.Rule + " " + f.Table
		got[key] = append(got[key], f.RowID)
	}
	counts := map[string]int64{}
	for _, c := range r.Findings {
		counts[c.Rule+" "+c.Table] = c.Count
	}
	for key, query := range map[string]string{
		"required_missing registration": `SELECT id FROM wuhan.registration WHERE status IS NULL OR reg_no IS NULL OR kind IS NULL OR registered_at IS NULL`,
		"unknown_code registration": `SELECT id FROM wuhan.registration r
			WHERE r.kind IS NOT NULL AND NOT EXISTS (SELECT FROM wuhan.dictionary d WHERE d.dict_type = 'reg_kind' AND d.code = r.kind::text AND NOT d.is_deleted)
				OR r.status <> '' AND NOT EXISTS (SELECT FROM wuhan.dictionary d WHERE d.dict_type = 'reg_status' AND d.code = r.status AND NOT d.is_deleted)`,
		"impossible_date registration":     `SELECT id FROM wuhan.registration WHERE registered_at > now() + interval '1 hour'`,
		"impossible_date initial_feedback": `SELECT f.id FROM wuhan.initial_feedback f JOIN wuhan.registration r ON r.id = f.registration_id WHERE f.feedback_at < r.registered_at`,
		"amount_out_of_range object":       `SELECT id FROM wuhan.object WHERE amount < 0 OR amount > 100000000`,
		"orphan_waiting info_provider":     `SELECT id FROM bridge.parked WHERE table_name = 'info_provider'`,
		"orphan_quarantined subject":       `SELECT DISTINCT row_id FROM bridge.quarantine WHERE table_name = 'subject' AND reason LIKE 'orphan:%'`,
		"quarantined object":               `SELECT DISTINCT row_id FROM bridge.quarantine WHERE table_name = 'object' AND reason NOT LIKE 'orphan:%'`,
	} {
		want := store.strings(t, query)
		slices.Sort(want)
		slices.Sort(got[key])
		if !slices.Equal(got[key], want) || counts[key] != int64(len(want)) {
			t.Errorf("%s: report %v (count %d), store %v", key, got[key], counts[key], want)
		}
	}
	for key, id := range map[string]string{
		"required_missing registration": "RPT-NOSTATUS", "unknown_code registration": "RPT-BADKIND",
		"impossible_date registration": "RPT-FUTURE", "impossible_date initial_feedback": "RPT-EARLY",
		"amount_out_of_range object": "RPT-NEG", "orphan_waiting info_provider": "RPT-WAIT",
		"orphan_quarantined subject": "RPT-GONE", "quarantined object": "RPT-BIG",
	} {
		if !slices.Contains(got[key], id) {
			t.Errorf("%s does not name the seeded bad row %s: %v", key, id, got[key])
		}
	}
	for _, f := range r.FindingRows {
		if f.RowID == "RPT-NOSTATUS" && f.Detail != "status is empty" || f.RowID == "RPT-BADKIND" && f.Detail != "kind 7 is not a reg_kind code" {
			t.Errorf("finding %+v does not say what is wrong", f)
		}
	}
}

func checkReconciliation(t *testing.T, store storeDB, r report.Report, p report.Period) {
	t.Helper()
	runs := store.count(t, fmt.Sprintf(`SELECT count(*) FROM bridge.reconcile_run WHERE started_at >= '%s' AND started_at < '%s'`, sqlTime(p.From()), sqlTime(p.To())))
	if len(r.Reconcile) != runs || runs == 0 || r.Reconcile[len(r.Reconcile)-1].Outcome != "repaired" {
		t.Errorf("reconciliation runs %+v, want %d, the last repaired", r.Reconcile, runs)
	}
	missing := store.count(t, `SELECT coalesce(sum(missing), 0) FROM bridge.reconcile_finding WHERE subject = 'unit' AND unit_code = '420102' AND check_name = 'delivery'`)
	var got *report.ReconcileResult
	for i, d := range r.Differences {
		if d.Check == "delivery" && d.Subject == "unit" && d.Unit == "420102" {
			got = &r.Differences[i]
		}
	}
	if got == nil || got.Missing != int64(missing) || got.Repaired != got.Missing || missing == 0 {
		t.Errorf("reconciliation of 420102: %+v, want %d missing and repaired", got, missing)
	}
}

func checkTimeLimits(t *testing.T, printed []byte) {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal(printed, &r); err != nil {
		t.Fatal(err)
	}
	want := []report.TimeLimitLine{
		{Unit: "420106", Rule: "acceptance", Due: 3, Met: 1, Overdue: 2},
		{Unit: "420106", Rule: "feedback", Due: 1, Met: 1},
		{Unit: "420106", Rule: "mediation", Due: 1, Overdue: 1},
	}
	if !slices.Equal(r.TimeLimits, want) {
		t.Errorf("time limits 2025-10-10..16: %+v, want %+v", r.TimeLimits, want)
	}
	var overdue []string
	for _, o := range r.Overdue {
		done := "-"
		if o.Done != nil {
			done = o.Done.String()
		}
		overdue = append(overdue, fmt.Sprintf("%s %s %s→%s done %s", o.Rule, o.RegistrationID, o.Start, o.Deadline, done))
	}
	if w := []string{"acceptance RPT-A2 2025-09-30→2025-10-16 done 2025-10-17", "acceptance RPT-A3 2025-10-01→2025-10-16 done -",
		"mediation RPT-M1 2025-08-01→2025-10-10 done 2025-10-13"}; !slices.Equal(overdue, w) {
		t.Errorf("overdue %q, want %q", overdue, w)
	}
}

// checkPage: report.html is well-formed (a strict XML parser reads it whole), refers to nothing outside itself
// and shows the report's numbers.
func checkPage(t *testing.T, path string, r report.Report) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict, d.Entity = true, xml.HTMLEntity
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, _ := d.InputPos()
			t.Fatalf("report.html is not well-formed at line %d: %v", line, err)
		}
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:|//)`).FindString(page); m != "" {
		t.Errorf("report.html refers to something outside itself: %s", m)
	}
	if strings.Count(page, "<svg") < 4 {
		t.Errorf("report.html has %d charts, want 4", strings.Count(page, "<svg"))
	}
	var held int64
	for _, l := range r.Flow {
		if l.Unit == "420106" && l.Table == events.Registration {
			held = l.Held
		}
	}
	for _, want := range []string{fmt.Sprintf(`<td class="text">%d</td>`, held), "RPT-NOSTATUS", "RPT-GONE", "district-420106-report"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html does not show %q", want)
		}
	}
}

// checkNoPersonalData searches every file the report wrote, and what it printed, for every personal value
// upstream.
func checkNoPersonalData(t *testing.T, e *bridgeEnv, dir string, printed ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	personal := personalValues(t, e)
	for _, entry := range entries {
		data, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		if err != nil {
			t.Fatal(err)
		}
		assertNoneOf(t, entry.Name(), strings.Split(string(data), "\n"), personal)
	}
	for _, p := range printed {
		assertNoneOf(t, "the printed report", strings.Split(p, "\n"), personal)
	}
	if len(entries) < 20 {
		t.Errorf("the report wrote %d files: the scan proves little", len(entries))
	}
}

// Two bridge instances share a store and a report_dir; their clock passes midnight in Shanghai. Each day's
// report is written once, by one of them, into report_dir/<day>/.
// Not parallel: it timed out once among the parallel tests (both instances' logs did not show the day within two
// minutes, where it takes seconds alone); run first, on a quiet machine, until that is understood.
func TestTheDailyReportIsWrittenOnceADayPastMidnight(t *testing.T) {
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	e.exec(t, treeSQL)
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, status, handle_dept_id, registered_at)
		VALUES ('R1', now() - interval '1 hour', 'N1', 1, NULL, 'ORG-420106', now() - interval '2 hours')`)
	e.runUntilIdle(t) // migrated and stored before the instances start, so both see the same store from the start
	dir := t.TempDir()
	e.cfg.ReportDir = dir
	var clock atomic.Int64 // the instances' clock, in Unix nanoseconds
	clock.Store(time.Date(2026, 12, 1, 23, 59, 0, 0, report.Shanghai).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	logs := []*testenv.SyncBuffer{{}, {}}
	for i := range logs {
		cfg := e.cfg
		cfg.HTTPAddr = ""
		runWithClock(t, cfg, logs[i], now)
	}
	waitForFile(t, filepath.Join(dir, "2026-11-30", "report.html"))
	if _, err := os.Stat(filepath.Join(dir, "2026-12-01")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the report of 2026-12-01 was written before the day ended: %v", err)
	}
	// Both instances must have come to 2026-11-30 before the clock moves on: past midnight it is no longer
	// yesterday's, and an instance still starting up would never look at it.
	wantWrittenOnce(t, logs, "2026-11-30")
	clock.Store(time.Date(2026, 12, 2, 0, 0, 30, 0, report.Shanghai).UnixNano())
	waitForFile(t, filepath.Join(dir, "2026-12-01", "report.html"))
	wantWrittenOnce(t, logs, "2026-12-01")
	store := storeQuerier(t, e)
	if got := store.strings(t, `SELECT day::text FROM bridge.report_day ORDER BY day`); !slices.Equal(got, []string{"2026-11-30", "2026-12-01"}) {
		t.Errorf("bridge.report_day holds %v", got)
	}
	var day report.Report
	data, err := os.ReadFile(filepath.Join(dir, "2026-12-01", "report.json"))
	if err == nil {
		err = json.Unmarshal(data, &day)
	}
	if err != nil || day.Period.First != report.Date(2026, 12, 1) || day.Period.Last != day.Period.First {
		t.Errorf("report.json of 2026-12-01: period %v (%v)", day.Period, err)
	}
}

// wantWrittenOnce waits until each instance has logged the day's report as written or as already written by
// another, and checks that exactly one wrote it.
func wantWrittenOnce(t *testing.T, logs []*testenv.SyncBuffer, day string) {
	t.Helper()
	written, seen := 0, 0
	waitFor(t, "both instances to have seen the report of "+day, func() bool {
		written, seen = 0, 0
		for _, l := range logs {
			for _, line := range strings.Split(l.String(), "\n") {
				if !strings.Contains(line, `"day":"`+day+`"`) {
					continue
				}
				if strings.Contains(line, `"msg":"daily report written"`) {
					written++
				}
				if strings.Contains(line, `"msg":"daily report already written by another instance"`) {
					seen++
				}
			}
		}
		return written+seen == len(logs)
	})
	if written != 1 {
		t.Errorf("the report of %s was written %d times, want once", day, written)
	}
}

// runWithClock runs a bridge in the background with the daily report on the given clock, checked every 50 ms,
// logging JSON at info level into logs.
func runWithClock(t *testing.T, cfg pipeline.Config, logs *testenv.SyncBuffer, now func() time.Time) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := pipeline.RunWithClock(ctx, cfg, pipeline.NewLoggerAs(logs, "info", "json", false), now, 50*time.Millisecond)
		if ctx.Err() == nil {
			t.Errorf("the bridge stopped while the test ran: %v\n%s", err, lastLines(logs.String(), 20))
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func waitForFile(t *testing.T, path string) {
	t.Helper()
	waitFor(t, path, func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

// waitFor polls cond until it holds, failing the test after two minutes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
