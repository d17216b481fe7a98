package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
)

// A small national tree: two Wuhan districts with a station, a zone bureau known only by org id, and 黄石.
const treeSQL = `INSERT INTO organization (id, update_time, parent_id, name, division_code) VALUES
	('ORG-SAMR',        now() - interval '2 days', NULL,         '国家市场监督管理总局', NULL),
	('ORG-420000',      now() - interval '2 days', 'ORG-SAMR',   '湖北省市场监督管理局', '420000'),
	('ORG-420100',      now() - interval '2 days', 'ORG-420000', '武汉市市场监督管理局', '420100'),
	('ORG-420102',      now() - interval '2 days', 'ORG-420100', '江岸区市场监督管理局', '420102'),
	('ORG-420106',      now() - interval '2 days', 'ORG-420100', '武昌区市场监督管理局', '420106'),
	('ORG-420102-S01',  now() - interval '2 days', 'ORG-420102', '江岸区某市场监管所',   NULL),
	('ORG-WH-DHGX',     now() - interval '2 days', 'ORG-420100', '东湖新技术开发区市场监督管理局', NULL),
	('ORG-WH-DHGX-S01', now() - interval '2 days', 'ORG-WH-DHGX','光谷市场监管所',       NULL),
	('ORG-420200',      now() - interval '2 days', 'ORG-420000', '黄石市市场监督管理局', '420200')`

func TestSortScenarios(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	store := storeQuerier(t, e)
	e.exec(t, treeSQL)
	// A child captured before its registration exists: parked, across a restart.
	e.exec(t, `INSERT INTO info_provider (id, update_time, registration_id, name, phone) VALUES ('IP1', now() - interval '1 day', 'R1', '张三', '13812345678')`)
	e.runUntilIdle(t)
	if n := store.count(t, `SELECT count(*) FROM bridge.parked WHERE id = 'IP1' AND waiting_id = 'R1'`); n != 1 {
		t.Fatalf("child without registration: %d parked rows, want 1", n)
	}
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id, division_code) VALUES
		('R1', now() - interval '20 hours', 'N1', 1, 'ORG-420102-S01', NULL),
		('R2', now() - interval '20 hours', 'N2', 1, 'ORG-420200', NULL),
		('R3', now() - interval '20 hours', 'N3', 2, 'ORG-WH-DHGX-S01', NULL),
		('R4', now() - interval '20 hours', 'N4', 3, NULL, '420106'),
		('R5', now() - interval '20 hours', 'N5', 3, NULL, '420200')`)
	e.exec(t, `INSERT INTO subject (id, update_time, registration_id, name) VALUES ('S2', now() - interval '19 hours', 'R2', '黄石某公司'), ('S3', now() - interval '19 hours', 'R3', '光谷某公司')`)
	e.exec(t, `INSERT INTO personnel (id, update_time, org_id, name) VALUES ('P1', now() - interval '19 hours', 'ORG-420102-S01', '李四')`)
	e.exec(t, `INSERT INTO dictionary (id, update_time, dict_type, code, label, division_code) VALUES
		('D1', now() - interval '19 hours', 'reg_kind', '1', '投诉', NULL),
		('D2', now() - interval '19 hours', 'local', 'x', '黄石本地', '420200'),
		('D3', now() - interval '19 hours', 'local', 'y', '武汉本地', '420106')`)
	e.runUntilIdle(t) // a restart: IP1 was parked by the previous run
	assertStoreMatchesRules(t, e)
	store.assertUnits(t, map[string]string{
		"info_provider IP1": "420102", "registration R1": "420102", "registration R3": "dhgx", "subject S3": "dhgx",
		"registration R4": "420106", "personnel P1": "420102", "dictionary D1": "broadcast", "dictionary D3": "broadcast",
		"registration R2": "", "subject S2": "", "registration R5": "", "dictionary D2": "", "organization ORG-420200": "",
		"organization ORG-WH-DHGX-S01": "dhgx",
	})

	// Work orders move: 江岸 → 武昌, 东湖高新 → 黄石 (out of Wuhan), 黄石 → 江岸 after its child was captured
	// elsewhere; and the station moves from 江岸 to 武昌, taking its personnel.
	e.exec(t, `UPDATE registration SET handle_dept_id = 'ORG-420106', update_time = now() - interval '1 hour' WHERE id = 'R1'`)
	e.exec(t, `UPDATE registration SET handle_dept_id = 'ORG-420200', update_time = now() - interval '1 hour' WHERE id = 'R3'`)
	e.exec(t, `UPDATE registration SET handle_dept_id = 'ORG-420102', update_time = now() - interval '1 hour' WHERE id = 'R2'`)
	e.exec(t, `UPDATE organization SET parent_id = 'ORG-420106', update_time = now() - interval '1 hour' WHERE id = 'ORG-420102-S01'`)
	e.runUntilIdle(t)
	assertStoreMatchesRules(t, e)
	store.assertUnits(t, map[string]string{
		"registration R1": "420106", "info_provider IP1": "420106", "registration R3": "", "subject S3": "",
		"registration R2": "420102", "subject S2": "420102", "personnel P1": "420106", "organization ORG-420102-S01": "420106",
	})
	if n := store.count(t, `SELECT count(*) FROM bridge.removal WHERE (table_name, row_id, unit_code) IN
		(('registration', 'R3', 'dhgx'), ('subject', 'S3', 'dhgx'), ('info_provider', 'IP1', '420102'), ('personnel', 'P1', '420102'))`); n != 4 {
		t.Fatalf("removals recorded: %d, want 4 (R3 and S3 left dhgx, IP1 and P1 left 420102)", n)
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.outbox WHERE event_type = 'subject.removed' AND row_id = 'S3' AND unit_code = 'dhgx'`); n != 1 {
		t.Fatalf("removed events for S3 in the outbox: %d, want 1", n)
	}
}

func TestSortDuplicatesOlderVersionsAndBadRows(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	e.cfg.OrphanAfter = time.Second
	store := storeQuerier(t, e)
	e.exec(t, treeSQL)
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id, status) VALUES ('R1', now() - interval '1 hour', 'N1', 1, 'ORG-420106', 'new')`)
	e.runUntilIdle(t)
	old := capturedVersion(t, e, events.Registration, "R1")
	e.exec(t, `UPDATE registration SET status = 'done', update_time = now() - interval '30 minutes' WHERE id = 'R1'`)
	e.runUntilIdle(t)

	// Replayed and reordered deliveries: the old version again after the new one, and the new one twice.
	pub, err := kafka.NewPublisher(kafkaConfig(e))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	current := capturedVersion(t, e, events.Registration, "R1")
	publish(t, pub, e, capture.NewRowChangedMessage(old), capture.NewRowChangedMessage(current), capture.NewRowChangedMessage(current))
	// Bad rows, each with its reason, and a good row after them that must still flow.
	bad := []events.RowVersion{
		{Table: events.Registration, ID: "BAD-JSON", UpdateTime: time.Now(), Payload: []byte(`{not json`)},
		row(events.Registration, "BAD-DIV", `"kind":1,"division_code":"42A106"`),
		row(events.Registration, "BAD-BIG", `"kind":1,"handle_dept_id":"ORG-420106","summary":"`+strings.Repeat("投", 6000)+`"`),
		row(events.Object, "BAD-AMOUNT", `"registration_id":"R1","amount":"abc"`),
		row(events.InfoProvider, "ORPHAN", `"registration_id":"NEVER"`),
		row(events.Subject, "GOOD", `"registration_id":"R1","name":"好公司"`),
	}
	for _, v := range bad {
		publish(t, pub, e, capture.NewRowChangedMessage(v))
	}
	e.runInBackground(t)
	testenv.WaitFor(t, "the bad rows and the orphan in quarantine", time.Minute, func() bool {
		return store.count(t, `SELECT count(*) FROM bridge.quarantine`) == 5 &&
			store.count(t, `SELECT count(*) FROM wuhan.subject WHERE id = 'GOOD'`) == 1
	})

	var status string
	if err := store.db.QueryRow(context.Background(), `SELECT status FROM wuhan.registration WHERE id = 'R1'`).Scan(&status); err != nil || status != "done" {
		t.Fatalf("registration R1 status %q (%v): an older or duplicate version overwrote the newest", status, err)
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.outbox WHERE row_id = 'R1'`); n != 2 {
		t.Fatalf("%d outbox events for R1, want 2 (one per version; duplicates and the stale version add none)", n)
	}
	reasons := map[string]string{"BAD-JSON": "not a JSON object", "BAD-DIV": "six-digit", "BAD-BIG": "over the", "BAD-AMOUNT": "numeric", "ORPHAN": "never arrived"}
	for id, want := range reasons {
		var reason string
		if err := store.db.QueryRow(context.Background(), `SELECT reason FROM bridge.quarantine WHERE row_id = $1`, id).Scan(&reason); err != nil {
			t.Errorf("%s not quarantined: %v", id, err)
		} else if !strings.Contains(reason, want) {
			t.Errorf("%s quarantined with %q, want it to mention %q", id, reason, want)
		} else if strings.Contains(reason, `"abc"`) {
			t.Errorf("%s quarantined with %q: the reason repeats the refused value, which may be personal data", id, reason)
		}
	}
	store.assertUnits(t, map[string]string{"subject GOOD": "420106", "object BAD-AMOUNT": ""})

	// Each quarantined row is in the audit trail with its reason; a row the sorter rejected also names the
	// capture record it came in.
	testenv.WaitFor(t, "a quarantined hop for each quarantined row", time.Minute, func() bool {
		return store.count(t, `SELECT count(DISTINCT row_id) FROM bridge.audit_hop WHERE hop = 'quarantined'`) == 5
	})
	for id, want := range reasons {
		var reason string
		err := store.db.QueryRow(context.Background(), `SELECT detail->>'reason' FROM bridge.audit_hop WHERE hop = 'quarantined' AND row_id = $1`, id).Scan(&reason)
		if err != nil || !strings.Contains(reason, want) {
			t.Errorf("quarantined hop of %s has reason %q (%v), want it to mention %q", id, reason, err, want)
		}
	}
	var topic string
	var offset *int64
	err = store.db.QueryRow(context.Background(), `SELECT topic, kafka_offset FROM bridge.audit_hop WHERE hop = 'captured' AND row_id = 'BAD-DIV'`).Scan(&topic, &offset)
	if err != nil || topic != events.CaptureTopic(e.cfg.TopicPrefix, events.Registration) || offset == nil {
		t.Errorf("captured hop of the rejected BAD-DIV: topic %q offset %v (%v), want its capture record", topic, offset, err)
	}
}

func row(table, id, fields string) events.RowVersion {
	at := time.Now().Add(-10 * time.Minute).UTC()
	return events.RowVersion{Table: table, ID: id, UpdateTime: at,
		Payload: []byte(`{"id":"` + id + `","update_time":"` + events.FormatTime(at) + `","is_deleted":false,` + fields + `}`)}
}

func kafkaConfig(e *bridgeEnv) kafka.Config {
	return kafka.Config{Brokers: e.cfg.KafkaBrokers, Version: e.cfg.KafkaVersion, ClientID: "test", Partitions: 1, Replication: 1}
}

func publish(t *testing.T, pub *kafka.Publisher, e *bridgeEnv, msgs ...*message.Message) {
	t.Helper()
	for _, m := range msgs {
		if err := pub.Publish(events.CaptureTopic(e.cfg.TopicPrefix, m.Metadata.Get(events.MetaTable)), m); err != nil {
			t.Fatal(err)
		}
	}
}

// capturedVersion is the newest captured version of a row, as the capture topic carries it.
func capturedVersion(t *testing.T, e *bridgeEnv, table, id string) events.RowVersion {
	t.Helper()
	c := latest(readCaptureTopic(t, e.cfg.KafkaBrokers, e.cfg.TopicPrefix, table))[id]
	return events.RowVersion{Table: table, ID: id, UpdateTime: c.UpdateTime, Payload: c.Payload}
}

func TestSortBadRowReleasedFromParkingIsQuarantinedOnce(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	store := storeQuerier(t, e)
	e.exec(t, treeSQL)
	pub, err := kafka.NewPublisher(kafkaConfig(e))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	// Its registration is unknown, so it parks; its amount is unstorable, which only shows when it is released.
	publish(t, pub, e, capture.NewRowChangedMessage(row(events.Object, "BAD-LATER", `"registration_id":"R9","amount":"abc"`)))
	e.runUntilIdle(t)
	if n := store.count(t, `SELECT count(*) FROM bridge.parked WHERE id = 'BAD-LATER'`); n != 1 {
		t.Fatalf("%d parked rows for BAD-LATER, want 1", n)
	}
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ('R9', now() - interval '1 hour', 'N9', 1, 'ORG-420106')`)
	e.runUntilIdle(t)
	store.assertUnits(t, map[string]string{"registration R9": "420106", "object BAD-LATER": ""})
	if n := store.count(t, `SELECT count(*) FROM bridge.quarantine WHERE row_id = 'BAD-LATER' AND reason LIKE '%numeric%'`); n != 1 {
		t.Fatalf("BAD-LATER quarantined %d times with its reason, want once", n)
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.parked`); n != 0 {
		t.Fatalf("%d rows still parked: a quarantined row must leave parking", n)
	}
}
