package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"hotline-bridge/events"
	"hotline-bridge/handlers/district"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/seed"
	"hotline-bridge/schemas"
)

// assertTopicsRebuildTheStore checks the contract's invariant for every unit and broadcast: applying the topic
// from the beginning, in offset order, yields exactly that unit's rows in the dedicated store. It also checks
// every record against the documented headers and its payload's JSON Schema.
func assertTopicsRebuildTheStore(t *testing.T, e *bridgeEnv) {
	t.Helper()
	stored := actualStore(t, e.cfg.StoreURL)
	validate := payloadValidator(t)
	for _, unit := range append(jurisdiction.DefaultUnits().Codes(), events.BroadcastUnit) {
		state := district.State{}
		topic := events.UnitTopic(e.cfg.TopicPrefix, unit)
		err := kafka.ReadTopic(context.Background(), e.cfg.KafkaBrokers, topic, true, false, func(r kafka.Record) error {
			assertContractHeaders(t, r)
			validate(r)
			return state.Apply(r.Headers[events.HeaderType], r.Value)
		})
		if err != nil {
			t.Fatalf("read %s: %v", topic, err)
		}
		want := 0
		for key, row := range stored {
			if row.Unit != unit {
				continue
			}
			want++
			table, id, _ := strings.Cut(key, " ")
			assertSameVersion(t, unit, table, id, row, state[table][id])
		}
		got := 0
		for _, n := range state.Count() {
			got += n
		}
		if got != want {
			t.Errorf("unit %s: replaying %s gives %d rows, the store holds %d", unit, topic, got, want)
		}
	}
}

func assertSameVersion(t *testing.T, unit, table, id string, want storedRow, value json.RawMessage) {
	t.Helper()
	if value == nil {
		t.Errorf("unit %s: %s %s is in the store but not in the replayed topic", unit, table, id)
		return
	}
	var row struct {
		UpdateTime time.Time `json:"update_time"`
		IsDeleted  bool      `json:"is_deleted"`
	}
	if err := json.Unmarshal(value, &row); err != nil {
		t.Fatalf("unit %s: %s %s: %v", unit, table, id, err)
	}
	if !row.UpdateTime.Equal(want.UpdateTime) || row.IsDeleted != want.Deleted {
		t.Errorf("unit %s: %s %s replays as (%s, deleted=%t), store has (%s, deleted=%t)",
			unit, table, id, row.UpdateTime, row.IsDeleted, want.UpdateTime, want.Deleted)
	}
}

var traceParent = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`)

func assertContractHeaders(t *testing.T, r kafka.Record) {
	t.Helper()
	h := r.Headers
	problems := []string{}
	check := func(bad bool, what string) {
		if bad {
			problems = append(problems, what)
		}
	}
	check(h[events.HeaderSpecVersion] != "1.0", "ce_specversion")
	check(len(h[events.HeaderID]) != 32, "ce_id")
	check(!regexp.MustCompile(`^([a-z_]+\.(upserted|deleted|removed)|registration\.signed|(initial|final)_feedback\.submitted)$`).MatchString(h[events.HeaderType]), "ce_type")
	check(h[events.HeaderSource] != events.EventSource, "ce_source")
	check(h[events.HeaderSubject] == "", "ce_subject")
	_, err := time.Parse(time.RFC3339Nano, h[events.HeaderTime])
	check(err != nil, "ce_time")
	check(h[events.HeaderContentType] != "application/json", "content-type")
	check(!traceParent.MatchString(h[events.HeaderTraceParent]), "traceparent")
	check(h[events.HeaderSignature] == "" || len(h[events.HeaderSignatureKeyID]) != 16, "ce_signature, ce_signaturekeyid")
	check(r.Key == "", "key")
	if len(problems) > 0 {
		t.Fatalf("%s@%d/%d: bad %v in headers %v", r.Topic, r.Partition, r.Offset, problems, h)
	}
}

// payloadValidator validates record values against the published JSON Schemas.
func payloadValidator(t *testing.T) func(kafka.Record) {
	compiler := jsonschema.NewCompiler()
	compiled := map[string]*jsonschema.Schema{}
	return func(r kafka.Record) {
		files, path := schemas.Payloads, schemas.PayloadSchema(r.Headers[events.HeaderType])
		if _, change, _ := strings.Cut(r.Headers[events.HeaderType], "."); change == events.EventSigned || change == events.EventSubmitted {
			files, path = schemas.Gateway, schemas.GatewayEventSchema(r.Headers[events.HeaderType])
		}
		s, ok := compiled[path]
		if !ok {
			raw, err := files.ReadFile(path)
			if err != nil {
				t.Fatalf("no schema for %s: %v", r.Headers[events.HeaderType], err)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if err := compiler.AddResource(path, doc); err != nil {
				t.Fatal(err)
			}
			if s, err = compiler.Compile(path); err != nil {
				t.Fatal(err)
			}
			compiled[path] = s
		}
		value, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Value))
		if err == nil {
			err = s.Validate(value)
		}
		if err != nil {
			t.Fatalf("%s@%d/%d (%s) does not match %s: %v", r.Topic, r.Partition, r.Offset, r.Headers[events.HeaderType], path, err)
		}
	}
}

func TestDistributionReplaysToTheStoreForEveryUnitAfterTransfersAndDeletes(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	ctx := context.Background()
	if _, err := seed.Generate(ctx, e.upstream, seed.Options{Registrations: 2000, WuhanShare: 0.2, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	e.runUntilIdle(t)
	stats, err := seed.Change(ctx, e.upstream, seed.ChangeOptions{Seed: 12, Rounds: 6, BatchSize: 60, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{seed.OpTransferIntoWuhan, seed.OpTransferOutOfWuhan, seed.OpTransferWithinWuhan, seed.OpSoftDelete, seed.OpOrgMove} {
		if stats.Ops[op] == 0 {
			t.Fatalf("the changes made no %s: %v", op, stats)
		}
	}
	e.runUntilIdle(t)
	assertStoreMatchesRules(t, e)
	assertTopicsRebuildTheStore(t, e)
	store := storeQuerier(t, e)
	if n := store.count(t, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL OR kafka_offset IS NULL`); n != 0 {
		t.Fatalf("%d outbox events not recorded as published", n)
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.outbox WHERE event_type LIKE '%.removed'`); n == 0 {
		t.Fatal("transfers produced no removed events")
	}
}

func TestKcatReadsAUnitTopicAndItsHeadersAsDocumented(t *testing.T) {
	t.Parallel()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed; the test command (go tool task test) installs it")
	}
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	e.exec(t, treeSQL)
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ('R1', now() - interval '1 hour', 'N1', 1, 'ORG-420106')`)
	e.exec(t, `INSERT INTO subject (id, update_time, registration_id, name, uscc) VALUES ('S1', now() - interval '50 minutes', 'R1', '武汉某公司', '91420106MA4KXXXX1X')`)
	e.runUntilIdle(t)
	out, err := exec.Command(kcat, "-C", "-b", e.cfg.KafkaBrokers[0], "-t", events.UnitTopic(e.cfg.TopicPrefix, "420106"), "-e", "-J", "-q").Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	types := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var msg struct {
			Key     string   `json:"key"`
			Headers []string `json:"headers"`
			Payload string   `json:"payload"`
		}
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			t.Fatalf("kcat line %q: %v", sc.Text(), err)
		}
		headers := map[string]any{"key": msg.Key}
		for i := 0; i+1 < len(msg.Headers); i += 2 {
			headers[msg.Headers[i]] = msg.Headers[i+1]
		}
		var value map[string]any
		if err := json.Unmarshal([]byte(msg.Payload), &value); err != nil {
			t.Fatalf("payload is not JSON: %v", err)
		}
		headers["value.id"] = value["id"]
		types[fmt.Sprint(headers["ce_type"])] = headers
	}
	t.Logf("kcat -J output:\n%s", out)
	reg, sub := types["registration.upserted"], types["subject.upserted"]
	if reg == nil || sub == nil {
		t.Fatalf("kcat saw types %v, want registration.upserted and subject.upserted", types)
	}
	for name, want := range map[string]any{"ce_specversion": "1.0", "ce_subject": "R1", "content-type": "application/json", "key": "R1", "value.id": "R1", "ce_source": events.EventSource} {
		if reg[name] != want {
			t.Errorf("registration event %s = %v, want %v", name, reg[name], want)
		}
	}
	if sub["key"] != "R1" || sub["ce_subject"] != "S1" {
		t.Errorf("subject event key %v subject %v: a family's events must be keyed by the registration", sub["key"], sub["ce_subject"])
	}
}

func TestSIGKILLBetweenStoreCommitAndPublishLosesNoEvent(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	ctx := context.Background()
	if _, err := seed.Generate(ctx, e.upstream, seed.Options{Registrations: 3000, WuhanShare: 0.3, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	bin := buildBridge(t)
	flags := bridgeEnvVars(e)
	store := storeQuerier(t, e)
	caught := 0
	for kill := 0; kill < 5 && caught == 0; kill++ {
		cmd := startBridge(t, bin, flags, "run")
		testenv.WaitFor(t, "committed, unpublished outbox events", 2*time.Minute, func() bool {
			return store.countOrZero(t, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL`) > 0
		})
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		caught = store.count(t, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL`)
		t.Logf("kill %d: %d committed events were unpublished when the process died", kill+1, caught)
	}
	if caught == 0 {
		t.Fatal("no kill landed between a store commit and its publish: the test proved nothing")
	}
	out, err := exec.Command(bin, append([]string{"run", "--until-idle"}, flags...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("bridge run --until-idle after the kill: %v\n%s", err, out)
	}
	assertStoreMatchesRules(t, e)
	assertTopicsRebuildTheStore(t, e)
	assertOutboxEventsOnTopics(t, e)
}

// assertOutboxEventsOnTopics checks that every event the outbox holds is on its unit's topic under its ce_id.
func assertOutboxEventsOnTopics(t *testing.T, e *bridgeEnv) {
	t.Helper()
	store := storeQuerier(t, e)
	onTopics := map[string]bool{}
	for _, unit := range append(jurisdiction.DefaultUnits().Codes(), events.BroadcastUnit) {
		topic := events.UnitTopic(e.cfg.TopicPrefix, unit)
		err := kafka.ReadTopic(context.Background(), e.cfg.KafkaBrokers, topic, true, false,
			func(r kafka.Record) error { onTopics[r.Headers[events.HeaderID]] = true; return nil })
		if err != nil {
			t.Fatalf("read %s: %v", topic, err)
		}
	}
	rows, err := store.db.Query(context.Background(), `SELECT event_id FROM bridge.outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	missing, total := 0, 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		total++
		if !onTopics[id] {
			missing++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read the outbox: %v", err)
	}
	if total == 0 {
		t.Fatal("the outbox is empty: there was nothing to find on the topics")
	}
	if missing > 0 {
		t.Fatalf("%d of %d outbox events never reached their topic", missing, total)
	}
}
