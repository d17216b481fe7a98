package pipeline_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/events"
	"hotline-bridge/handlers/district"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/infra/atrest"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
)

// With encryption_key_file set (here with SM4-GCM; the rotation test seals with the default, AES-256-GCM), a pg_dump of the whole store database — the store's tables, the outbox, parked and
// quarantined rows, the replay and audit state — holds none of the upstream's personal values, while the unit
// topics carry exactly the events a bridge without encryption publishes from the same upstream. A bridge given
// another key refuses to start, naming the key id it lacks; an event sealed under a key nobody configured stops
// the forwarder with the key id and the event, never a value.
func TestPersonalDataIsSealedAtRestAndPublishedInClear(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	sealed := newBridgeEnv(t, brokers)
	keyFile := writeSealKeyFile(t)
	sealed.cfg.Encryption.KeyFile, sealed.cfg.Encryption.Algorithm = keyFile, atrest.SM4GCM
	ctx := context.Background()
	if _, err := seed.Generate(ctx, sealed.upstream, seed.Options{Registrations: 400, WuhanShare: 0.3, Seed: 21}); err != nil {
		t.Fatal(err)
	}
	// A family row whose work order never arrives stays parked; one too large for the store is quarantined.
	sealed.exec(t, `INSERT INTO info_provider (id, update_time, registration_id, name, phone, id_card_no, address)
		VALUES ('IP-PARKED', now(), 'REG-NEVER', '欧阳停车', '13900000011', '420106199001010011', '武昌区停车路1号'),
		       ('IP-BAD', now(), (SELECT min(id) FROM registration), '司马隔离', '13900000022', '420106199001010022', repeat('江岸区隔离路', 3000))`)
	clear := &bridgeEnv{cfg: sealed.cfg, upstream: sealed.upstream}
	clear.cfg.StoreURL, clear.cfg.TopicPrefix, clear.cfg.Encryption.KeyFile = testenv.Postgres(t), testenv.TopicPrefix(t)+"clear.", ""
	sealed.runUntilIdle(t)
	clear.runUntilIdle(t)

	store := storeQuerier(t, sealed)
	keyID := currentKeyID(t, atrest.SM4GCM, keyFile)
	counts := sealedCounts(t, store)
	if counts["clear"] != 0 || counts[keyID] < 100 || len(counts) != 1 {
		t.Errorf("sealed values by key id: %v; want only %s (at least 100), nothing in clear", counts, keyID)
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.parked WHERE id = 'IP-PARKED' AND payload LIKE '%enc:v1:%'`); n != 1 {
		t.Errorf("%d sealed parked rows IP-PARKED, want 1", n)
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.quarantine WHERE row_id = 'IP-BAD' AND payload LIKE '%"enc:v1:%'`); n != 1 {
		t.Errorf("%d sealed quarantined rows IP-BAD, want 1", n)
	}

	personal := distinctivePersonalValues(t, sealed)
	assertNoneOf(t, "pg_dump of the sealed store", strings.Split(pgDump(t, sealed.cfg.StoreURL), "\n"), personal)
	// The same scan finds them in the store kept in clear: it has teeth.
	clearDump := pgDump(t, clear.cfg.StoreURL)
	found := 0
	for _, v := range personal {
		if strings.Contains(clearDump, v) {
			found++
		}
	}
	if found < 100 {
		t.Errorf("only %d of %d personal values in the dump of the store kept in clear: the scan proves little", found, len(personal))
	}
	t.Logf("sealed values by key id %v; %d distinctive personal values upstream, none in the sealed dump, %d in the clear one", counts, len(personal), found)

	assertPublishedAsUpstream(t, sealed, clear)

	assertOtherKeyRefused(t, sealed, keyID, personal)
	assertUnknownKeyStopsTheForwarder(t, sealed, store, keyID, personal)
}

// assertOtherKeyRefused starts a bridge with another key: the store holds data under keyID, which it cannot open.
func assertOtherKeyRefused(t *testing.T, e *bridgeEnv, keyID string, personal []string) {
	t.Helper()
	other := e.cfg
	other.Encryption.KeyFile = writeSealKeyFile(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := pipeline.Run(ctx, other, quietLogger(), true)
	want := "the store holds personal data sealed under encryption key id " + keyID
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "encryption_old_key_files") {
		t.Fatalf("a bridge with another key: %v; want %q and what to configure", err, want)
	}
	assertNoneOf(t, "the error", []string{err.Error()}, personal)
}

// assertUnknownKeyStopsTheForwarder forgets that keyID was ever used and puts a sealed event back in the outbox.
func assertUnknownKeyStopsTheForwarder(t *testing.T, e *bridgeEnv, store storeDB, keyID string, personal []string) {
	t.Helper()
	if _, err := store.db.Exec(context.Background(), `DELETE FROM bridge.encryption_key;
		INSERT INTO bridge.outbox (seq, event_id, unit_code, event_type, table_name, row_id, record_key, row_time, payload)
		SELECT nextval('bridge.outbox_seq_seq'), 'resent', unit_code, event_type, table_name, row_id, record_key, row_time, payload
		FROM bridge.outbox WHERE table_name = 'info_provider' AND payload LIKE '%enc:v1:%' ORDER BY seq LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	seq := store.count(t, `SELECT max(seq) FROM bridge.outbox`)
	other := e.cfg
	other.Encryption.KeyFile = writeSealKeyFile(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := pipeline.Run(ctx, other, quietLogger(), true)
	want := "a value is sealed under encryption key id " + keyID + ", which none of the configured keys has"
	if err == nil || !strings.Contains(err.Error(), "outbox event "+itoa(seq)+" (info_provider ") || !strings.Contains(err.Error(), want) {
		t.Fatalf("forwarding an event under an unknown key: %v; want the event %d and %q", err, seq, want)
	}
	assertNoneOf(t, "the error", []string{err.Error()}, personal)
	if n := store.count(t, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL`); n != 1 {
		t.Errorf("%d events pending, want the one that cannot be opened", n)
	}
}

// bridge keys rotate moves everything to the new key id in batches while a bridge already sealing with the new
// key runs on under changes; the flow goes on, and the old key is retired.
func TestKeysRotateResealsEverythingWhileTheBridgeFlows(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	oldKey, newKey := writeSealKeyFile(t), writeSealKeyFile(t)
	e.cfg.Encryption.KeyFile = oldKey
	ctx := context.Background()
	if _, err := seed.Generate(ctx, e.upstream, seed.Options{Registrations: 300, WuhanShare: 0.3, Seed: 23}); err != nil {
		t.Fatal(err)
	}
	// Parked for good; its id sorts before the seeded ones, which seed.Change reads up to.
	e.exec(t, `INSERT INTO info_provider (id, update_time, registration_id, name, phone) VALUES ('IA-PARKED', now(), 'REG-NEVER', '欧阳停车', '13900000011')`)
	e.runUntilIdle(t)
	store := storeQuerier(t, e)
	oldID, newID := currentKeyID(t, atrest.AES256GCM, oldKey), currentKeyID(t, atrest.AES256GCM, newKey)
	before := sealedCounts(t, store)
	if before[oldID] < 100 || len(before) != 1 {
		t.Fatalf("before the rotation: %v, want everything under %s", before, oldID)
	}

	// The running bridges seal with the new key and still open the old one; the rotation itself is given the new
	// key on its command line, as an operator would, with the configuration it had.
	rotateCfg := e.cfg
	published := store.count(t, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NOT NULL`)
	e.cfg.Encryption.KeyFile, e.cfg.Encryption.OldKeyFiles = newKey, []string{oldKey}
	e.runInBackground(t)
	changes, stopChanges := context.WithCancel(ctx)
	changed := make(chan error, 1)
	go func() {
		_, err := seed.Change(changes, e.upstream, seed.ChangeOptions{Seed: 23, BatchSize: 20, Interval: 100 * time.Millisecond})
		changed <- err
	}()
	// The rotation starts once the running bridge is seen publishing the upstream's changes, and runs beside it.
	testenv.WaitFor(t, "the running bridge to publish changes", 2*time.Minute, func() bool {
		return store.count(t, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NOT NULL`) > published
	})
	var out bytes.Buffer
	err := pipeline.RotateKeys(ctx, rotateCfg, quietLogger(), &out, pipeline.RotateOptions{NewKeyFile: newKey, BatchSize: 50, MaxPasses: 10})
	stopChanges()
	if chErr := <-changed; chErr != nil && !strings.Contains(chErr.Error(), "context canceled") {
		t.Fatalf("seed changes: %v", chErr)
	}
	if err != nil {
		t.Fatalf("bridge keys rotate: %v\n%s", err, out.String())
	}
	t.Logf("bridge keys rotate:\n%s", out.String())
	if !strings.Contains(out.String(), "everything is sealed under key id "+newID+"; retired key ids: "+oldID) {
		t.Errorf("rotation output lacks the end and the retired key:\n%s", out.String())
	}
	for _, place := range []string{"wuhan.info_provider", "wuhan.personnel", "bridge.outbox", "bridge.parked"} {
		if !strings.Contains(firstLine(out.String(), "pass 1:"), place+" ") || strings.Contains(firstLine(out.String(), "pass 1:"), place+" 0") {
			t.Errorf("pass 1 resealed nothing in %s: %s", place, firstLine(out.String(), "pass 1:"))
		}
	}
	if after := sealedCounts(t, store); after[oldID] != 0 || after["clear"] != 0 || after[newID] < before[oldID] {
		t.Errorf("after the rotation: %v; want everything under %s (at least the %d sealed before), none under %s", after, newID, before[oldID], oldID)
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.encryption_key WHERE retired_at IS NULL AND key_id = '`+newID+`'`); n != 1 {
		t.Errorf("the new key is not the live one in bridge.encryption_key")
	}
	assertFlowsInClear(t, e, store)
}

// assertFlowsInClear adds a complainant to a Wuhan work order and waits for the running bridge to publish it,
// byte for byte as the upstream has it.
func assertFlowsInClear(t *testing.T, e *bridgeEnv, store storeDB) {
	t.Helper()
	var reg, unit string
	if err := store.db.QueryRow(context.Background(), `SELECT id, unit_code FROM wuhan.registration ORDER BY id LIMIT 1`).Scan(&reg, &unit); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `INSERT INTO info_provider (id, update_time, registration_id, name, phone, id_card_no, address)
		VALUES ('IP-MARK', now(), $1, '欧阳标记', '13900000077', '420106199001017777', '武昌区标记路1号')`, reg)
	want := upstreamJSON(t, e, "info_provider", "IP-MARK")
	topic := events.UnitTopic(e.cfg.TopicPrefix, unit)
	testenv.WaitFor(t, "IP-MARK on "+topic, 2*time.Minute, func() bool {
		var seen bool
		_ = kafka.ReadTopic(context.Background(), e.cfg.KafkaBrokers, topic, true, false, func(r kafka.Record) error {
			seen = seen || (r.Headers[events.HeaderSubject] == "IP-MARK" && string(r.Value) == want)
			return nil
		})
		return seen
	})
}

func writeSealKeyFile(t *testing.T) string {
	t.Helper()
	key := make([]byte, atrest.KeySize)
	_, _ = rand.Read(key)
	path := filepath.Join(t.TempDir(), "bridge.key")
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func currentKeyID(t *testing.T, algorithm, path string) string {
	t.Helper()
	raw, err := atrest.ReadKeyFile("key", path)
	if err != nil {
		t.Fatal(err)
	}
	return atrest.KeyID(algorithm, raw)
}

// sealedCounts counts the personal values the store keeps, by the key id they are sealed under ("clear" for none):
// the store's personal columns, the personal fields of outbox and parked payloads, and quarantined payloads.
func sealedCounts(t *testing.T, s storeDB) map[string]int {
	t.Helper()
	var fields, stored []string
	for _, k := range events.Catalogue {
		if len(k.Personal) == 0 {
			continue
		}
		cols := make([]string, len(k.Personal))
		for i, c := range k.Personal {
			cols[i] = pgx.Identifier{c}.Sanitize()
			fields = append(fields, "'"+c+"'")
		}
		stored = append(stored, `SELECT unnest(ARRAY[`+strings.Join(cols, ", ")+`]) FROM wuhan.`+k.Table)
	}
	payload := `SELECT x.payload::jsonb ->> f FROM %s x, unnest(ARRAY[` + strings.Join(fields, ", ") + `]) f WHERE x.table_name IN ('info_provider', 'personnel')`
	return s.countsBy(t, `SELECT CASE WHEN v LIKE 'enc:v1:%' THEN split_part(v, ':', 3) ELSE 'clear' END, count(*) FROM (
			`+strings.Join(stored, " UNION ALL ")+`
			UNION ALL `+strings.Replace(payload, "%s", "bridge.outbox", 1)+`
			UNION ALL `+strings.Replace(payload, "%s", "bridge.parked", 1)+`
			UNION ALL SELECT 'enc:v1:' || m[1] || ':' FROM bridge.quarantine, regexp_matches(payload, 'enc:v1:([0-9a-f]+):', 'g') m
		) s(v) WHERE v IS NOT NULL GROUP BY 1`)
}

// distinctivePersonalValues are the upstream's personal values that no other upstream column holds (a two-letter
// name may be part of a shop's name): finding one of them in a dump means a personal column leaked.
func distinctivePersonalValues(t *testing.T, e *bridgeEnv) []string {
	t.Helper()
	var others strings.Builder
	for _, k := range events.Catalogue {
		strip := ""
		for _, c := range k.Personal {
			strip += " - '" + c + "'"
		}
		rows, err := e.upstream.Query(context.Background(), `SELECT (to_jsonb(t)`+strip+`)::text FROM `+pgx.Identifier{k.Table}.Sanitize()+` t`)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			others.WriteString(s)
		}
	}
	var out []string
	for _, v := range personalValues(t, e) {
		if !strings.Contains(others.String(), truncate(v)) {
			out = append(out, v)
		}
	}
	if len(out) < 200 {
		t.Fatalf("only %d distinctive personal values upstream: the scan would prove little", len(out))
	}
	return out
}

func pgDump(t *testing.T, url string) string {
	t.Helper()
	bin := "/usr/lib/postgresql/15/bin/pg_dump"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("pg_dump"); err != nil {
			t.Fatalf("pg_dump: %v", err)
		}
	}
	out, err := exec.Command(bin, "--no-owner", "--dbname", url).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if len(out) < 10000 {
		t.Fatalf("pg_dump wrote only %d bytes", len(out))
	}
	return string(out)
}

// assertPublishedAsUpstream checks that every row event the sealed bridge published carries the row exactly as
// the upstream has it (nothing changed upstream during the runs), and that each unit's topic folds into the same
// rows as the clear bridge's. (The events themselves may differ in number: how often a row is carried along
// depends on the order the sorter met parents and children.)
func assertPublishedAsUpstream(t *testing.T, sealed, clear *bridgeEnv) {
	t.Helper()
	upstream := upstreamRows(t, sealed)
	checked, providers := 0, 0
	for _, unit := range append(jurisdiction.DefaultUnits().Codes(), events.BroadcastUnit) {
		got := readUnit(t, sealed, unit, func(r kafka.Record) {
			table, change, _ := strings.Cut(r.Headers[events.HeaderType], ".")
			if change == events.EventRemoved {
				return
			}
			checked++
			if table == events.InfoProvider {
				providers++
			}
			if want := upstream[table][r.Headers[events.HeaderSubject]]; string(r.Value) != want {
				t.Errorf("%s %s on %s: published %.200s, the upstream has %.200s", table, r.Headers[events.HeaderSubject], unit, r.Value, want)
			}
		})
		if want := readUnit(t, clear, unit, func(kafka.Record) {}); !reflect.DeepEqual(got, want) {
			t.Errorf("unit %s: the sealed bridge's topic folds into %v rows, the clear one's into %v, and they differ", unit, got.Count(), want.Count())
		}
	}
	if checked < 500 || providers < 50 {
		t.Errorf("checked %d row events, %d of info_provider: too few to prove anything", checked, providers)
	}
}

// readUnit folds a unit's topic into its rows, showing fn each record.
func readUnit(t *testing.T, e *bridgeEnv, unit string, fn func(kafka.Record)) district.State {
	t.Helper()
	state := district.State{}
	err := kafka.ReadTopic(context.Background(), e.cfg.KafkaBrokers, events.UnitTopic(e.cfg.TopicPrefix, unit), true, false, func(r kafka.Record) error {
		fn(r)
		return state.Apply(r.Headers[events.HeaderType], r.Value)
	})
	if err != nil {
		t.Fatal(err)
	}
	return state
}

// upstreamRows is every upstream row as capture reads it, by table and id.
func upstreamRows(t *testing.T, e *bridgeEnv) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, k := range events.Catalogue {
		rows, err := e.upstream.Query(context.Background(), `SELECT id, to_jsonb(t)::text FROM `+pgx.Identifier{k.Table}.Sanitize()+` t`)
		if err != nil {
			t.Fatal(err)
		}
		out[k.Table] = map[string]string{}
		var id, doc string
		if _, err := pgx.ForEachRow(rows, []any{&id, &doc}, func() error { out[k.Table][id] = doc; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// upstreamJSON is an upstream row as capture reads it.
func upstreamJSON(t *testing.T, e *bridgeEnv, table, id string) string {
	t.Helper()
	var doc string
	err := e.upstream.QueryRow(context.Background(), `SELECT to_jsonb(t)::text FROM `+pgx.Identifier{table}.Sanitize()+
		` t WHERE t.id = $1`, id).Scan(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
