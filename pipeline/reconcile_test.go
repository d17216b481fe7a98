package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"hotline-bridge/events"
	"hotline-bridge/handlers/district"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/postgres"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
)

// unitReport is one line of bridge reconcile --json.
type unitReport struct {
	Run        int64  `json:"run"`
	Check      string `json:"check"`
	Unit       string `json:"unit"`
	Table      string `json:"table"`
	Expected   int64  `json:"expected"`
	Found      int64  `json:"found"`
	Pending    int64  `json:"pending"`
	Missing    int64  `json:"missing"`
	Repaired   int64  `json:"repaired"`
	Unrepaired int64  `json:"unrepaired"`
	Detail     string `json:"detail"`
	Groups     []struct {
		Group     string `json:"group"`
		Partition int32  `json:"partition"`
		Expected  int64  `json:"expected"`
		Found     int64  `json:"found"`
		Missing   int64  `json:"missing"`
		Repaired  int64  `json:"repaired"`
		Detail    string `json:"detail"`
	} `json:"consumer_groups"`
}

// reconcileOnce runs bridge reconcile --once --json and returns its lines by unit, and its error.
func reconcileOnce(t *testing.T, e *bridgeEnv, dryRun bool) (map[string]unitReport, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := pipeline.Reconcile(ctx, e.cfg, quietLogger(), &out, pipeline.ReconcileOptions{Once: true, DryRun: dryRun, JSON: true})
	units := map[string]unitReport{}
	dec := json.NewDecoder(&out)
	for dec.More() {
		var u unitReport
		if derr := dec.Decode(&u); derr != nil {
			t.Fatalf("bridge reconcile --json printed something that is not a JSON line: %v", derr)
		}
		if u.Check == "delivery" {
			units[u.Unit] = u
		}
	}
	if n := len(units); n != 19 && err == nil {
		t.Fatalf("bridge reconcile --json printed %d units, want 18 and broadcast", n)
	}
	return units, err
}

// assertReconciled fails unless every unit is consistent: nothing missing, nothing repaired, nothing pending.
func assertReconciled(t *testing.T, e *bridgeEnv) map[string]unitReport {
	t.Helper()
	units, err := reconcileOnce(t, e, false)
	if err != nil {
		t.Fatalf("second reconcile: %v", err)
	}
	for _, u := range units {
		if u.Missing != 0 || u.Repaired != 0 || u.Pending != 0 || u.Found != u.Expected {
			t.Errorf("second reconcile, unit %s: %+v, want everything found", u.Unit, u)
		}
		for _, g := range u.Groups {
			if g.Missing != 0 {
				t.Errorf("second reconcile, unit %s group %s: %+v, want nothing missing", u.Unit, g.Group, g)
			}
		}
	}
	return units
}

func testAdmin(t *testing.T, e *bridgeEnv) sarama.ClusterAdmin {
	t.Helper()
	sc := sarama.NewConfig()
	version, err := sarama.ParseKafkaVersion(e.cfg.KafkaVersion)
	if err != nil {
		t.Fatal(err)
	}
	sc.Version = version
	admin, err := sarama.NewClusterAdmin(e.cfg.KafkaBrokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	return admin
}

// recreateTopic deletes the topic and creates it again, empty, as an operator's mistake would.
func recreateTopic(t *testing.T, e *bridgeEnv, topic string) {
	t.Helper()
	admin := testAdmin(t, e)
	if err := admin.DeleteTopic(topic); err != nil {
		t.Fatalf("delete %s: %v", topic, err)
	}
	testenv.WaitFor(t, "the topic recreated", time.Minute, func() bool {
		err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: int32(e.cfg.Partitions), ReplicationFactor: 1}, false)
		return err == nil // refused while the deletion is still under way
	})
	offsets := kafka.NewOffsets(kafka.Config{Brokers: e.cfg.KafkaBrokers, Version: e.cfg.KafkaVersion})
	defer offsets.Close()
	testenv.WaitFor(t, "the recreated topic's partitions served", time.Minute, func() bool {
		spans, exists, err := offsets.Partitions(context.Background(), topic)
		return err == nil && exists && len(spans) == e.cfg.Partitions
	})
}

func busiestUnit(t *testing.T, store storeDB) string {
	t.Helper()
	var unit string
	if err := store.db.QueryRow(context.Background(), `SELECT unit_code FROM wuhan.registration GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`).Scan(&unit); err != nil {
		t.Fatal(err)
	}
	return unit
}

func TestReconcileResendsTheWholeStateOfAUnitTopicDeletedAndRecreated(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	ctx := context.Background()
	if _, err := seed.Generate(ctx, e.upstream, seed.Options{Registrations: 400, WuhanShare: 0.3, Seed: 21}); err != nil {
		t.Fatal(err)
	}
	e.runUntilIdle(t)
	store := storeQuerier(t, e)
	unit := busiestUnit(t, store)
	recreateTopic(t, e, events.UnitTopic(e.cfg.TopicPrefix, unit))
	// One live change lands on the recreated topic before reconciliation looks: its offsets start again at 0.
	var touched string
	if err := store.db.QueryRow(ctx, `SELECT id FROM wuhan.registration WHERE unit_code = $1 ORDER BY id LIMIT 1`, unit).Scan(&touched); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `UPDATE registration SET status = 9, update_time = now() - interval '10 minutes' WHERE id = $1`, touched)
	e.runUntilIdle(t)

	dry, err := reconcileOnce(t, e, true)
	if !errors.Is(err, pipeline.ErrUnrepaired) || !strings.Contains(err.Error(), "unit "+unit+": ") {
		t.Fatalf("dry run: %v, want ErrUnrepaired naming unit %s", err, unit)
	}
	rows := store.count(t, `SELECT (SELECT count(*) FROM wuhan.registration WHERE unit_code = '`+unit+`')`)
	u := dry[unit]
	if u.Found != 1 || u.Missing != u.Expected-1 || u.Missing < int64(rows)-1 || u.Repaired != 0 {
		t.Fatalf("dry run, unit %s: %+v: want all but the touched row missing, none repaired", unit, u)
	}
	if !strings.Contains(u.Detail, "overwritten after a rewind") && !strings.Contains(u.Detail, "at or beyond the end") {
		t.Errorf("dry run detail %q does not say the offsets were rewound", u.Detail)
	}
	for code, other := range dry {
		if code != unit && (other.Missing != 0 || other.Found != other.Expected) {
			t.Errorf("dry run, unit %s untouched by the test: %+v", code, other)
		}
	}

	repaired, err := reconcileOnce(t, e, false)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if got := repaired[unit]; got.Repaired != u.Missing || got.Unrepaired != 0 {
		t.Fatalf("reconcile, unit %s: %+v, want the %d missing rows repaired", unit, got, u.Missing)
	}
	assertTopicsRebuildTheStore(t, e)
	assertReconciled(t, e)
	outcomes := store.strings(t, `SELECT outcome || ':' || dry_run FROM bridge.reconcile_run ORDER BY id`)
	if want := []string{"unrepaired:true", "repaired:false", "consistent:false"}; !slices.Equal(outcomes, want) {
		t.Errorf("recorded runs %v, want %v", outcomes, want)
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.reconcile_finding f JOIN bridge.reconcile_run r ON r.id = f.run_id
		WHERE r.outcome = 'repaired' AND f.subject = 'partition' AND f.unit_code = '`+unit+`' AND f.repaired = f.missing AND f.missing > 0`); n == 0 {
		t.Error("the repairing run recorded no partition finding for the recreated topic")
	}
}

// consumeAndCommit reads the topic from its start into state, as a district's consumer would, and commits the
// end of every partition for group.
func consumeAndCommit(t *testing.T, e *bridgeEnv, topic, group string, state district.State) {
	t.Helper()
	ctx := context.Background()
	offsets := kafka.NewOffsets(kafka.Config{Brokers: e.cfg.KafkaBrokers, Version: e.cfg.KafkaVersion})
	defer offsets.Close()
	spans, _, err := offsets.Partitions(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	// Like a Java consumer, it commits its position on every partition assigned to it, also the empty ones.
	ends := kadm.Offsets{}
	for p, s := range spans {
		ends.Add(kadm.Offset{Topic: topic, Partition: p, At: s.End, LeaderEpoch: -1})
	}
	err = kafka.ReadTopic(ctx, e.cfg.KafkaBrokers, topic, true, false, func(r kafka.Record) error {
		return state.Apply(r.Headers[events.HeaderType], r.Value)
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cfg.KafkaBrokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	committed, err := kadm.NewClient(cl).CommitOffsets(ctx, group, ends)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		t.Fatalf("commit %s for %s: %v", topic, group, err)
	}
}

// deleteAllRecords moves every partition's log start to its end, as retention would in time.
func deleteAllRecords(t *testing.T, e *bridgeEnv, topic string) {
	t.Helper()
	offsets := kafka.NewOffsets(kafka.Config{Brokers: e.cfg.KafkaBrokers, Version: e.cfg.KafkaVersion})
	defer offsets.Close()
	spans, _, err := offsets.Partitions(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	ends := map[int32]int64{}
	for p, s := range spans {
		ends[p] = s.End
	}
	if err := testAdmin(t, e).DeleteRecords(topic, ends); err != nil {
		t.Fatalf("delete records of %s: %v", topic, err)
	}
}

func TestReconcileResendsWhatAConsumerGroupBehindTheLogStartCanNoLongerRead(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	const group = "district-420106"
	e.cfg.ConsumerGroups = map[string]string{"420106": group}
	topic := events.UnitTopic(e.cfg.TopicPrefix, "420106")
	e.exec(t, treeSQL)
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES
		('R1', now() - interval '3 hours', 'N1', 1, 'ORG-420106'), ('R2', now() - interval '3 hours', 'N2', 1, 'ORG-420106')`)
	e.exec(t, `INSERT INTO subject (id, update_time, registration_id, name) VALUES ('S1', now() - interval '3 hours', 'R1', '武汉某公司')`)
	e.runUntilIdle(t)
	district420106 := district.State{}
	consumeAndCommit(t, e, topic, group, district420106)
	if got := district420106.Count(); got["registration"] != 2 || got["subject"] != 1 {
		t.Fatalf("the district read %v, want R1, R2 and S1", got)
	}
	// While the district is down: R1 and its subject go to 420102, R3 comes in; then retention takes everything.
	e.exec(t, `UPDATE registration SET handle_dept_id = 'ORG-420102', update_time = now() - interval '2 hours' WHERE id = 'R1'`)
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ('R3', now() - interval '2 hours', 'N3', 1, 'ORG-420106')`)
	e.runUntilIdle(t)
	deleteAllRecords(t, e, topic)

	units, err := reconcileOnce(t, e, false)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	u := units["420106"]
	// ORG-420106, R2 and R3: everything the unit holds was on the deleted records.
	if want := unitRows(t, e, "420106"); u.Expected != want || u.Missing != want || u.Repaired != want || want != 3 {
		t.Errorf("unit 420106: %+v, want all %d rows (ORG-420106, R2, R3) missing and repaired", u, want)
	}
	var groupMissing, groupRepaired int64
	for _, g := range u.Groups {
		if g.Group != group {
			t.Errorf("group finding for %q, want %q", g.Group, group)
		}
		groupMissing, groupRepaired = groupMissing+g.Missing, groupRepaired+g.Repaired
		if g.Missing > 0 && !strings.Contains(g.Detail, "below the log start the group can no longer read") {
			t.Errorf("group finding %+v does not say the group is behind the log start", g)
		}
	}
	// R1's and S1's removals and R3's arrival happened after the group's position; R2 it had read.
	if groupMissing != 3 || groupRepaired != 3 {
		t.Errorf("group %s: %d missing, %d repaired, want 3 and 3 (%+v)", group, groupMissing, groupRepaired, u.Groups)
	}
	// The district comes back: its offsets are below the log start, so it resumes there, and ends up exact.
	if err := kafka.ReadTopic(context.Background(), e.cfg.KafkaBrokers, topic, true, false, func(r kafka.Record) error {
		return district420106.Apply(r.Headers[events.HeaderType], r.Value)
	}); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(district420106["registration"])); !slices.Equal(got, []string{"R2", "R3"}) || len(district420106["subject"]) != 0 {
		t.Errorf("the district behind the log start ends with registrations %v and subjects %v, want R2, R3 and none",
			got, slices.Collect(maps.Keys(district420106["subject"])))
	}
	assertTopicsRebuildTheStore(t, e)
	assertReconciled(t, e)
}

func TestReconcileReportsEventsStuckInTheOutboxAsPendingNotLost(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	e.cfg.ReconcileInterval = 0
	ctx := context.Background()
	e.exec(t, treeSQL)
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ('R1', now() - interval '3 hours', 'N1', 1, 'ORG-420106')`)
	e.runUntilIdle(t)
	store := storeQuerier(t, e)
	// The forwarder is stuck: this transaction holds its lock.
	stuck, err := store.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stuck.Rollback(ctx) }()
	if _, err := stuck.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('hotline-bridge outbox forwarder'))`); err != nil {
		t.Fatal(err)
	}
	e.runInBackground(t)
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ('R2', now() - interval '2 hours', 'N2', 1, 'ORG-420106')`)
	testenv.WaitFor(t, "R2's event committed to the outbox", time.Minute, func() bool {
		return store.count(t, `SELECT count(*) FROM bridge.outbox WHERE row_id = 'R2' AND published_at IS NULL`) == 1
	})
	written := store.count(t, `SELECT count(*) FROM bridge.outbox`)

	units, err := reconcileOnce(t, e, false)
	if err != nil {
		t.Fatalf("reconcile with events pending: %v", err)
	}
	// ORG-420106 and R1 are on the topic; R2 is stored and waits for the forwarder.
	if u := units["420106"]; u.Expected != 3 || u.Found != 2 || u.Pending != 1 || u.Missing != 0 || u.Repaired != 0 {
		t.Errorf("unit 420106 while the forwarder is stuck: %+v, want 2 found, R2 pending, nothing missing", u)
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.outbox`); n != written {
		t.Errorf("reconciling pending events wrote %d outbox events", n-written)
	}
	if err := stuck.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the outbox drained", time.Minute, func() bool {
		return store.count(t, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL`) == 0
	})
	assertTopicsRebuildTheStore(t, e)
	if u := assertReconciled(t, e)["420106"]; u.Found != 3 {
		t.Errorf("unit 420106 once the forwarder ran: %+v, want ORG-420106, R1 and R2 found", u)
	}
}

// unitRows is how many rows the store holds for unit, over every table.
func unitRows(t *testing.T, e *bridgeEnv, unit string) int64 {
	t.Helper()
	counts, err := postgres.UnitCounts(context.Background(), storeQuerier(t, e).db, e.cfg.StoreSchema)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range counts[unit] {
		n += int64(c)
	}
	return n
}
