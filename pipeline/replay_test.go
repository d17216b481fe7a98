package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/replay"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
	"hotline-bridge/schemas"
)

// replayOnce runs bridge replay in the process and returns what it printed.
func replayOnce(t *testing.T, e *bridgeEnv, opts pipeline.ReplayOptions) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if opts.From == "" {
		opts.From = replay.SourceStore
	}
	if err := pipeline.Replay(ctx, e.cfg, quietLogger(), &out, opts); err != nil {
		t.Fatalf("bridge replay %+v: %v\n%s", opts, err, out.String())
	}
	return out.String()
}

// lastSeq is the outbox's highest seq: the events a replay writes come after it.
func lastSeq(t *testing.T, store storeDB) int {
	return store.count(t, `SELECT coalesce(max(seq), 0) FROM bridge.outbox`)
}

// eventsAfter lists "unit table id" of every outbox event after seq, in seq order.
func eventsAfter(t *testing.T, store storeDB, seq int) []string {
	return store.strings(t, `SELECT unit_code || ' ' || table_name || ' ' || row_id FROM bridge.outbox WHERE seq > `+itoa(seq)+` ORDER BY seq`)
}

func itoa(n int) string { return strconv.Itoa(n) }

// storedRows lists "unit table id" of the store's rows that where selects, over every table, sorted.
func storedRows(t *testing.T, store storeDB, where string) []string {
	t.Helper()
	var parts []string
	for _, k := range events.Catalogue {
		parts = append(parts, `SELECT unit_code || ' ' || '`+k.Table+`' || ' ' || id FROM wuhan.`+k.Table+` t WHERE `+strings.ReplaceAll(where, "$table", k.Table))
	}
	return sorted(store.strings(t, strings.Join(parts, " UNION ALL ")))
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// topicIDs is every ce_id on a unit topic, by row id.
func topicIDs(t *testing.T, e *bridgeEnv, unit string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := kafka.ReadTopic(context.Background(), e.cfg.KafkaBrokers, events.UnitTopic(e.cfg.TopicPrefix, unit), true, false, func(r kafka.Record) error {
		out[r.Headers[events.HeaderSubject]] = append(out[r.Headers[events.HeaderSubject]], r.Headers[events.HeaderID])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func seededEnv(t *testing.T, registrations int) (*bridgeEnv, storeDB) {
	t.Helper()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	if _, err := seed.Generate(context.Background(), e.upstream, seed.Options{Registrations: registrations, WuhanShare: 0.3, Seed: 31}); err != nil {
		t.Fatal(err)
	}
	e.runUntilIdle(t)
	return e, storeQuerier(t, e)
}

func TestReplayByRegistrationNumberResendsItsFamilyWithNewEventIDs(t *testing.T) {
	t.Parallel()
	e, store := seededEnv(t, 300)
	var regID, regNo, unit string
	err := store.db.QueryRow(context.Background(), `SELECT r.id, r.reg_no, r.unit_code FROM wuhan.registration r
		WHERE (SELECT count(*) FROM wuhan.subject s WHERE s.registration_id = r.id) > 0 ORDER BY r.id LIMIT 1`).Scan(&regID, &regNo, &unit)
	if err != nil {
		t.Fatal(err)
	}
	family := storedRows(t, store, `t.id = '`+regID+`' OR ('$table' <> 'registration' AND to_jsonb(t)->>'registration_id' = '`+regID+`')`)
	before := topicIDs(t, e, unit)
	seq := lastSeq(t, store)

	dry := replayOnce(t, e, pipeline.ReplayOptions{Filter: replay.Filter{RegNos: []string{regNo}}, DryRun: true})
	if !regexp.MustCompile(`(?m)^total\s+` + itoa(len(family)) + `$`).MatchString(dry) {
		t.Errorf("dry run printed\n%s\nwant a total of the %d rows of the family", dry, len(family))
	}
	if lastSeq(t, store) != seq {
		t.Fatal("a dry run wrote events")
	}
	out := replayOnce(t, e, pipeline.ReplayOptions{Filter: replay.Filter{RegNos: []string{regNo}}})
	if got := sorted(eventsAfter(t, store, seq)); !slices.Equal(got, family) {
		t.Fatalf("replay wrote events for %v, want the family %v\n%s", got, family, out)
	}
	after := topicIDs(t, e, unit)
	for _, key := range family {
		id := strings.Fields(key)[2]
		fresh := slices.DeleteFunc(slices.Clone(after[id]), func(ce string) bool { return slices.Contains(before[id], ce) })
		if len(fresh) != 1 {
			t.Errorf("%s: %d new events on the unit topic, want 1 with a new ce_id (before %v, after %v)", key, len(fresh), before[id], after[id])
		}
	}
	if !strings.Contains(out, "done") {
		t.Errorf("replay printed %q, want the job done", out)
	}
	assertTopicsRebuildTheStore(t, e)
}

func TestReplayByUnitAndTimeWindowSendsOnlyThoseRows(t *testing.T) {
	t.Parallel()
	e, store := seededEnv(t, 300)
	unit := busiestUnit(t, store)
	var since, until time.Time
	if err := store.db.QueryRow(context.Background(), `SELECT percentile_disc(0.25) WITHIN GROUP (ORDER BY update_time),
		percentile_disc(0.75) WITHIN GROUP (ORDER BY update_time) FROM wuhan.registration WHERE unit_code = $1`, unit).Scan(&since, &until); err != nil {
		t.Fatal(err)
	}
	window := `t.unit_code = '` + unit + `' AND t.update_time >= '` + since.Format(time.RFC3339Nano) + `' AND t.update_time < '` + until.Format(time.RFC3339Nano) + `'`
	want := storedRows(t, store, window)
	if len(want) == 0 || len(want) == len(storedRows(t, store, `t.unit_code = '`+unit+`'`)) {
		t.Fatalf("the window selects %d rows of unit %s: the test needs some, not all", len(want), unit)
	}
	seq := lastSeq(t, store)
	replayOnce(t, e, pipeline.ReplayOptions{Filter: replay.Filter{Units: []string{unit}, Since: &since, Until: &until}})
	if got := sorted(eventsAfter(t, store, seq)); !slices.Equal(got, want) {
		t.Fatalf("replay wrote events for %d rows, want exactly the %d of unit %s in the window", len(got), len(want), unit)
	}
	list := replayOnce(t, e, pipeline.ReplayOptions{List: true})
	if !strings.Contains(list, "--unit "+unit+" --since ") || !strings.Contains(list, "done") {
		t.Errorf("--list printed\n%s\nwant the done job with its filter", list)
	}
	assertTopicsRebuildTheStore(t, e)
}

// movedCatalogue writes a unit catalogue that moves district code's bureau and everything below it to the dhgx
// zone, and returns its path and parsed form.
func movedCatalogue(t *testing.T, code string) (string, *jurisdiction.Units) {
	t.Helper()
	moved := strings.Replace(string(schemas.Units), `org_ids: ["ORG-WH-DHGX"]`, `org_ids: ["ORG-WH-DHGX", "ORG-`+code+`"]`, 1)
	if moved == string(schemas.Units) {
		t.Fatal("the embedded catalogue no longer names ORG-WH-DHGX as the test expects")
	}
	path := filepath.Join(t.TempDir(), "units.yaml")
	if err := os.WriteFile(path, []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	units, err := jurisdiction.ParseUnits([]byte(moved))
	if err != nil {
		t.Fatal(err)
	}
	return path, units
}

func TestReplayFromCaptureAfterACatalogueChangeSortsTheStoreByTheNewCatalogue(t *testing.T) {
	t.Parallel()
	e, store := seededEnv(t, 300)
	district := store.strings(t, `SELECT unit_code FROM wuhan.registration WHERE unit_code ~ '^[0-9]{6}$'
		GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`)[0]
	before := store.count(t, `SELECT count(*) FROM wuhan.registration WHERE unit_code = '`+district+`'`)
	var units *jurisdiction.Units
	e.cfg.Units, units = movedCatalogue(t, district)
	seq := lastSeq(t, store)
	out := replayOnce(t, e, pipeline.ReplayOptions{From: replay.SourceCapture})
	if !strings.Contains(out, "(capture, everything): done") {
		t.Errorf("replay printed\n%s\nwant the capture job done", out)
	}
	assertStoreMatchesRulesUnder(t, e, units)
	if n := store.count(t, `SELECT count(*) FROM wuhan.registration WHERE unit_code = '`+district+`'`); n != 0 {
		t.Errorf("%d registrations still in %s after the catalogue moved its bureau to dhgx", n, district)
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.outbox WHERE seq > `+itoa(seq)+` AND unit_code = '`+district+`'
		AND event_type = 'registration.removed'`); n != before {
		t.Errorf("%s got %d registration removals, want one for each of its %d registrations", district, n, before)
	}
	assertTopicsRebuildTheStore(t, e)
}

func TestReplayFromUpstreamRecapturesAContentChangeWithoutANewUpdateTime(t *testing.T) {
	t.Parallel()
	e, store := seededEnv(t, 200)
	var id, unit string
	if err := store.db.QueryRow(context.Background(), `SELECT id, unit_code FROM wuhan.registration ORDER BY id LIMIT 1`).Scan(&id, &unit); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `UPDATE registration SET summary = 'changed quietly' WHERE id = $1`, id) // update_time stays
	e.runUntilIdle(t)
	if n := store.count(t, `SELECT count(*) FROM wuhan.registration WHERE id = '`+id+`' AND summary = 'changed quietly'`); n != 0 {
		t.Fatal("the live flow saw a change without a new update_time: the test proves nothing")
	}
	seq := lastSeq(t, store)
	replayOnce(t, e, pipeline.ReplayOptions{From: replay.SourceUpstream, Filter: replay.Filter{Tables: []string{events.Registration}, IDs: []string{id}}})
	if n := store.count(t, `SELECT count(*) FROM wuhan.registration WHERE id = '`+id+`' AND summary = 'changed quietly'`); n != 1 {
		t.Fatal("the store does not hold the upstream's current content after the replay from upstream")
	}
	if got := eventsAfter(t, store, seq); !slices.Equal(got, []string{unit + " registration " + id}) {
		t.Fatalf("replay from upstream wrote %v, want one event for registration %s in %s", got, id, unit)
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.outbox WHERE seq > `+itoa(seq)+` AND payload::jsonb->>'summary' = 'changed quietly'`); n != 1 {
		t.Error("the replayed event does not carry the new content")
	}
	assertTopicsRebuildTheStore(t, e)
}

func TestReplayJobKilledHalfWayResumesAndSendsEveryRowOnce(t *testing.T) {
	t.Parallel()
	e, store := seededEnv(t, 300)
	want := storedRows(t, store, "true")
	bin := buildBridge(t)
	conn := []string{"--upstream-url=" + e.cfg.UpstreamURL, "--store-url=" + e.cfg.StoreURL, "--log-level=warn",
		"--kafka-brokers=" + strings.Join(e.cfg.KafkaBrokers, ","), "--topic-prefix=" + e.cfg.TopicPrefix}
	args := append([]string{"replay", "--batch-size=5", "--replay-rows-per-s=100"}, conn...)
	seq := lastSeq(t, store)
	cmd := startBridge(t, bin, nil, args...)
	testenv.WaitFor(t, "the replay job's first checkpoints", 2*time.Minute, func() bool {
		return store.countOrZero(t, `SELECT coalesce(max(done), 0) FROM bridge.replay_job`) >= 20
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	var done, total int
	var state string
	if err := store.db.QueryRow(context.Background(), `SELECT done, total, state FROM bridge.replay_job`).Scan(&done, &total, &state); err != nil {
		t.Fatal(err)
	}
	if state != replay.StateRunning || done >= total || total != len(want) {
		t.Fatalf("after the kill the job is %s with %d of %d done (the store holds %d rows): the kill must land half-way", state, done, total, len(want))
	}
	if sent := len(eventsAfter(t, store, seq)); sent != done {
		t.Fatalf("%d events written for %d rows checkpointed: the checkpoint and the events must commit together", sent, done)
	}
	out, err := exec.Command(bin, append([]string{"replay", "--batch-size=50"}, conn...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("bridge replay again: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "resuming from its checkpoint") {
		t.Errorf("the same command again printed\n%s\nwant it to resume the job", out)
	}
	if got := sorted(eventsAfter(t, store, seq)); !slices.Equal(got, want) {
		t.Fatalf("the killed and resumed job wrote %d events, want one for each of the %d stored rows", len(got), len(want))
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.replay_job WHERE state = 'done' AND done = total`); n != 1 {
		t.Errorf("%d jobs done with everything counted, want the one job", n)
	}
	assertTopicsRebuildTheStore(t, e)
}

func TestReplayJobSubmittedToARunningBridgePausesAndResumes(t *testing.T) {
	t.Parallel()
	e, store := seededEnv(t, 200)
	want := storedRows(t, store, "true")
	e.cfg.BatchSize, e.cfg.ReplayRowsPerS = 5, 40 // slow enough to pause half-way
	e.runInBackground(t)
	seq := lastSeq(t, store)
	if out := replayOnce(t, e, pipeline.ReplayOptions{Submit: true}); !strings.Contains(out, "submitted") {
		t.Fatalf("--submit printed %q", out)
	}
	id := store.count(t, `SELECT max(id) FROM bridge.replay_job`)
	testenv.WaitFor(t, "the running bridge to run the submitted job", 2*time.Minute, func() bool {
		return store.count(t, `SELECT done FROM bridge.replay_job WHERE id = `+itoa(id)) >= 10
	})
	replayOnce(t, e, pipeline.ReplayOptions{Pause: int64(id)})
	// The runner stops after its current step and lets go of the replay lock; once the test holds it, nothing runs.
	lock, err := store.db.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the paused job's runner to stop", time.Minute, func() bool {
		var got bool
		err := lock.QueryRow(context.Background(), `SELECT pg_try_advisory_lock(hashtext('hotline-bridge replay'))`).Scan(&got)
		return err == nil && got
	})
	var done, total int
	var state string
	if err := store.db.QueryRow(context.Background(), `SELECT done, total, state FROM bridge.replay_job WHERE id = $1`, id).Scan(&done, &total, &state); err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtext('hotline-bridge replay'))`); err != nil {
		t.Fatal(err)
	}
	lock.Release()
	if state != replay.StatePaused || done >= total {
		t.Fatalf("after --pause the job is %s with %d of %d done, want paused half-way", state, done, total)
	}
	if sent := len(eventsAfter(t, store, seq)); sent != done {
		t.Fatalf("the paused job wrote %d events for %d rows checkpointed", sent, done)
	}
	if out := replayOnce(t, e, pipeline.ReplayOptions{Resume: int64(id), Submit: true}); !strings.Contains(out, "submitted again") {
		t.Fatalf("--resume --submit printed %q", out)
	}
	testenv.WaitFor(t, "the resumed job to finish in the running bridge", 3*time.Minute, func() bool {
		return store.count(t, `SELECT count(*) FROM bridge.replay_job WHERE id = `+itoa(id)+` AND state = 'done'`) == 1
	})
	if got := sorted(eventsAfter(t, store, seq)); !slices.Equal(got, want) {
		t.Fatalf("the paused and resumed job wrote %d events, want one for each of the %d stored rows", len(got), len(want))
	}
	testenv.WaitFor(t, "the running bridge to publish the replayed events", time.Minute, func() bool {
		return store.count(t, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL`) == 0
	})
	assertTopicsRebuildTheStore(t, e)
}
