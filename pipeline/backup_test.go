package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/events"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
)

func backupTo(t *testing.T, cfg pipeline.Config, dir string) pipeline.BackupManifest {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := pipeline.Backup(ctx, cfg, quietLogger(), &out, dir); err != nil {
		t.Fatalf("bridge backup: %v", err)
	}
	body, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m pipeline.BackupManifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return m
}

func restoreFrom(cfg pipeline.Config, dir string, force bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	return pipeline.Restore(ctx, cfg, quietLogger(), &out, pipeline.RestoreOptions{From: dir, Force: force})
}

// copyDir copies a backup, to tamper with the copy.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

func TestBackupRestoredIntoAFreshDatabaseReconcilesCleanAndResumesCapture(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	if _, err := seed.Generate(context.Background(), e.upstream, seed.Options{Registrations: 200, WuhanShare: 0.3, Seed: 7, Now: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.runUntilIdle(t)
	original := storeQuerier(t, e)
	dir := filepath.Join(t.TempDir(), "backup")
	m := backupTo(t, e.cfg, dir)

	// The manifest: versions, and the rows of every table as they are.
	if want := newestMigration(t); m.SchemaMigration != want || !strings.HasPrefix(m.Server, "PostgreSQL 15") || !strings.Contains(m.PGDump, "pg_dump (PostgreSQL) 15") {
		t.Errorf("manifest: migration %d, server %q, pg_dump %q; want %d, PostgreSQL 15, pg_dump 15", m.SchemaMigration, m.Server, m.PGDump, want)
	}
	for _, table := range []string{"wuhan.registration", "wuhan.subject", "bridge.outbox", "bridge.capture_watermark", "bridge.row_state", "bridge.audit_hop", "bridge.download_log"} {
		if want := int64(original.count(t, "SELECT count(*) FROM "+table)); m.RowCounts[table] != want || want == 0 {
			t.Errorf("manifest counts %d rows of %s, the store holds %d (want some)", m.RowCounts[table], table, want)
		}
	}
	if _, ok := m.Files["store/toc.dat"]; !ok || len(m.Files) < 10 {
		t.Errorf("manifest lists %d files, want pg_dump's toc.dat and a file per table", len(m.Files))
	}

	// A non-empty target is refused, and the store left as it was.
	if err := restoreFrom(e.cfg, dir, false); err == nil || !strings.Contains(err.Error(), "the database is not empty") {
		t.Errorf("restore into the live store: %v, want it refused as not empty", err)
	}

	// A tampered file is refused, naming it, before anything is restored.
	tampered := filepath.Join(t.TempDir(), "tampered")
	copyDir(t, dir, tampered)
	victim := filepath.Join(tampered, "store", "toc.dat")
	body, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	body[len(body)/2] ^= 0xff
	if err := os.WriteFile(victim, body, 0o600); err != nil {
		t.Fatal(err)
	}
	restored := &bridgeEnv{cfg: e.cfg, upstream: e.upstream}
	restored.cfg.StoreURL = testenv.Postgres(t)
	target := storeQuerier(t, restored)
	err = restoreFrom(restored.cfg, tampered, false)
	if err == nil || !strings.Contains(err.Error(), "store/toc.dat does not match its checksum") {
		t.Fatalf("restore of a tampered backup: %v, want it refused naming store/toc.dat", err)
	}
	if n := target.count(t, `SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`); n != 0 {
		t.Fatalf("the refused restore left %d tables in the target", n)
	}

	// The backup restores into a fresh database with every row, and reconciles clean against upstream and topics.
	if err := restoreFrom(restored.cfg, dir, false); err != nil {
		t.Fatalf("restore: %v", err)
	}
	for table, want := range m.RowCounts {
		if got := int64(target.count(t, "SELECT count(*) FROM "+table)); got != want {
			t.Errorf("restored %s has %d rows, the manifest %d", table, got, want)
		}
	}
	assertReconciled(t, restored)

	// The bridge resumes on the restored store from its watermarks: new and changed upstream rows arrive, once.
	before := map[string]int{}
	for _, table := range []string{"registration", "subject"} {
		before[table] = target.count(t, "SELECT count(*) FROM wuhan."+table)
	}
	var changed string
	if err := target.db.QueryRow(context.Background(), `SELECT id FROM wuhan.registration WHERE unit_code = '420106' ORDER BY id LIMIT 1`).Scan(&changed); err != nil {
		t.Fatal(err)
	}
	outboxBefore := target.count(t, `SELECT count(*) FROM bridge.outbox`)
	maxSeq := target.count(t, `SELECT max(seq) FROM bridge.outbox`)
	// Rows above a watermark (stamped within the settle line, or in the future) are read again by design.
	above := rowsAboveWatermarks(t, restored, target)
	restoredAt := time.Now()
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, division_code) VALUES ('R-NEW', now() - interval '10 minutes', 'N-NEW', 1, '420106')`)
	e.exec(t, `INSERT INTO subject (id, update_time, registration_id) VALUES ('S-NEW', now() - interval '10 minutes', 'R-NEW')`)
	e.exec(t, `UPDATE registration SET status = 'T9', update_time = now() - interval '10 minutes' WHERE id = $1`, changed)
	restored.runUntilIdle(t)

	for table, added := range map[string]int{"registration": 1, "subject": 1} {
		if got := target.count(t, "SELECT count(*) FROM wuhan."+table); got != before[table]+added {
			t.Errorf("wuhan.%s holds %d rows after the resumed run, want %d + %d", table, got, before[table], added)
		}
	}
	if got := target.count(t, `SELECT count(*) FROM wuhan.registration WHERE id = '`+changed+`' AND status = 'T9'`); got != 1 {
		t.Errorf("the changed registration %s is not at its new version in the restored store", changed)
	}
	// Capture read the three rows that changed after the backup and what was above the watermarks: it resumed
	// from them.
	if got := target.count(t, `SELECT coalesce(sum(rows_read), 0) FROM bridge.download_log WHERE started_at >= '`+restoredAt.Format(time.RFC3339Nano)+`'`); got != 3+above {
		t.Errorf("capture read %d rows after the restore, want the 3 new and changed ones and the %d above the watermarks: %v", got, above,
			target.strings(t, `SELECT concat_ws(' ', table_name, from_time, from_id, to_time, to_id, rows_read, rows_published) FROM bridge.download_log WHERE started_at >= '`+restoredAt.Format(time.RFC3339Nano)+`'`))
	}
	// One event each, none twice.
	newEvents := target.strings(t, `SELECT table_name || ' ' || row_id || ' ' || unit_code || ' ' || event_type FROM bridge.outbox WHERE seq > `+strconv.Itoa(maxSeq))
	want := []string{"registration R-NEW 420106 registration.upserted", "registration " + changed + " 420106 registration.upserted", "subject S-NEW 420106 subject.upserted"}
	if !slices.Equal(slices.Sorted(slices.Values(newEvents)), slices.Sorted(slices.Values(want))) {
		t.Errorf("events after the restore: %v, want %v", newEvents, want)
	}
	if got := target.count(t, `SELECT count(*) FROM bridge.outbox`); got != outboxBefore+3 {
		t.Errorf("the outbox holds %d events, want %d + 3", got, outboxBefore)
	}
	if n := target.count(t, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL`); n != 0 {
		t.Errorf("%d events unpublished after the resumed run", n)
	}

	// Told to, a restore replaces what the backup holds in a database that is not empty.
	if err := restoreFrom(restored.cfg, dir, true); err != nil {
		t.Fatalf("restore --force: %v", err)
	}
	if n := target.count(t, `SELECT count(*) FROM wuhan.registration WHERE id = 'R-NEW'`); n != 0 {
		t.Errorf("after restore --force the store still holds R-NEW, which came after the backup")
	}
}

// rowsAboveWatermarks counts the upstream rows past the store's durable capture watermarks: what capture reads
// when it resumes.
func rowsAboveWatermarks(t *testing.T, e *bridgeEnv, store storeDB) int {
	t.Helper()
	n := 0
	for _, k := range events.Catalogue {
		var at time.Time
		var id string
		err := store.db.QueryRow(context.Background(), `SELECT update_time, row_id FROM bridge.capture_watermark WHERE table_name = $1`, k.Table).Scan(&at, &id)
		sql, args := "SELECT count(*) FROM "+k.Table, []any{}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		if err == nil {
			sql, args = sql+" WHERE (update_time, id) > ($1, $2)", []any{at, id}
		}
		var c int
		if err := e.upstream.QueryRow(context.Background(), sql, args...).Scan(&c); err != nil {
			t.Fatal(err)
		}
		n += c
	}
	return n
}
