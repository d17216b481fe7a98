package seed_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/infra/seed"
)

// tickingClock returns a later time on every call, a millisecond apart.
func tickingClock(from time.Time) func() time.Time {
	var mu sync.Mutex
	t := from
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

// unitGroups maps each unit of Wuhan and 黄石 to its city (root) and its district, zone or department (grp).
const unitGroups = `WITH RECURSIVE sub(id, root, grp) AS (
		SELECT id, parent_id, id FROM organization WHERE parent_id IN ('ORG-420100', 'ORG-420200')
		UNION ALL SELECT o.id, s.root, s.grp FROM organization o JOIN sub s ON o.parent_id = s.id)
	SELECT id, root, grp FROM sub UNION ALL SELECT id, id, id FROM organization WHERE id IN ('ORG-420100', 'ORG-420200')`

func snapshot(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	stmts := []string{
		`CREATE TABLE before_groups AS ` + unitGroups,
		`CREATE VIEW after_groups AS ` + unitGroups,
		`CREATE TABLE before_org AS SELECT id, parent_id FROM organization`,
		`CREATE TABLE before_reg AS SELECT id, handle_dept_id, status, update_time FROM registration`,
		`CREATE TABLE before_deleted AS ` + deletedRows,
	}
	for _, s := range stmts {
		if _, err := db.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

const deletedRows = `SELECT 'registration' t, id, is_deleted FROM registration
	UNION ALL SELECT 'info_provider', id, is_deleted FROM info_provider
	UNION ALL SELECT 'subject', id, is_deleted FROM subject
	UNION ALL SELECT 'object', id, is_deleted FROM object
	UNION ALL SELECT 'initial_feedback', id, is_deleted FROM initial_feedback
	UNION ALL SELECT 'final_feedback', id, is_deleted FROM final_feedback
	UNION ALL SELECT 'mediation', id, is_deleted FROM mediation
	UNION ALL SELECT 'case_info', id, is_deleted FROM case_info
	UNION ALL SELECT 'supervision', id, is_deleted FROM supervision
	UNION ALL SELECT 'personnel', id, is_deleted FROM personnel`

// moved counts registrations whose handling unit went from one city or group to another.
func moved(t *testing.T, db *pgxpool.Pool, fromRoot, toRoot string, sameRoot bool) int {
	q := `SELECT count(*) FROM before_reg b JOIN registration r USING (id)
		JOIN before_groups f ON f.id = b.handle_dept_id JOIN after_groups a ON a.id = r.handle_dept_id
		WHERE f.root = $1 AND a.root = $2`
	if sameRoot {
		q += ` AND f.grp <> a.grp`
	}
	return count(t, db, q, fromRoot, toRoot)
}

func TestChange(t *testing.T) {
	db, _ := generate(t, seed.Options{Registrations: 5000, Now: fixedNow, Days: 10})
	snapshot(t, db)
	start := fixedNow.Add(time.Hour)
	st, err := seed.Change(context.Background(), db, seed.ChangeOptions{
		Seed: 3, Rounds: 4, BatchSize: 100, Interval: -1, Now: tickingClock(start)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("change: %s", st)

	for _, op := range []string{seed.OpStatus, seed.OpNewRegistration, seed.OpFeedback, seed.OpTransferWithinWuhan,
		seed.OpTransferOutOfWuhan, seed.OpTransferIntoWuhan, seed.OpOrgMove, seed.OpSoftDelete, seed.OpUndelete, seed.OpRestamp} {
		if st.Ops[op] == 0 {
			t.Errorf("no %s in 4 rounds", op)
		}
	}
	if n := moved(t, db, "ORG-420100", "ORG-420200", false); n == 0 {
		t.Error("no registration moved from Wuhan to 黄石")
	}
	if n := moved(t, db, "ORG-420200", "ORG-420100", false); n == 0 {
		t.Error("no registration moved from 黄石 to Wuhan")
	}
	if n := moved(t, db, "ORG-420100", "ORG-420100", true); n == 0 {
		t.Error("no registration moved between Wuhan districts")
	}
	deleted := count(t, db, `SELECT count(*) FROM before_deleted b JOIN (`+deletedRows+`) a USING (t, id)
		WHERE a.is_deleted AND NOT b.is_deleted`)
	undeleted := count(t, db, `SELECT count(*) FROM before_deleted b JOIN (`+deletedRows+`) a USING (t, id)
		WHERE b.is_deleted AND NOT a.is_deleted`)
	wuhanDeleted := count(t, db, `SELECT count(*) FROM registration r JOIN before_reg b USING (id)
		JOIN after_groups g ON g.id = r.handle_dept_id WHERE r.is_deleted AND g.root = 'ORG-420100' AND r.update_time > $1`, fixedNow)
	if deleted == 0 || undeleted == 0 || wuhanDeleted == 0 {
		t.Errorf("%d rows soft-deleted (%d Wuhan registrations), %d undeleted", deleted, wuhanDeleted, undeleted)
	}
	if n := count(t, db, `SELECT count(*) FROM before_org b JOIN organization o USING (id)
		WHERE o.parent_id IS DISTINCT FROM b.parent_id AND o.id LIKE '%-S__'
		AND o.parent_id IN (SELECT id FROM after_groups WHERE root = 'ORG-420100')`); n == 0 {
		t.Error("no Wuhan station moved to another district")
	}
	assertNewFamilies(t, db)
	assertChangeStamps(t, db, start)
}

func assertNewFamilies(t *testing.T, db *pgxpool.Pool) {
	newRegs := count(t, db, `SELECT count(*) FROM registration r WHERE NOT EXISTS (SELECT 1 FROM before_reg b WHERE b.id = r.id)`)
	withProvider := count(t, db, `SELECT count(*) FROM registration r JOIN info_provider i ON i.registration_id = r.id
		WHERE NOT EXISTS (SELECT 1 FROM before_reg b WHERE b.id = r.id)`)
	newWuhan := count(t, db, `SELECT count(*) FROM registration r JOIN after_groups g ON g.id = r.handle_dept_id
		WHERE g.root = 'ORG-420100' AND NOT EXISTS (SELECT 1 FROM before_reg b WHERE b.id = r.id)`)
	if newRegs == 0 || withProvider != newRegs || newWuhan == 0 {
		t.Errorf("%d new registrations, %d with their info provider, %d in Wuhan", newRegs, withProvider, newWuhan)
	}
	for _, table := range []string{events.InitialFeedback, events.FinalFeedback} {
		if n := count(t, db, `SELECT count(*) FROM `+table+` f JOIN before_reg b ON b.id = f.registration_id
			WHERE f.update_time > $1`, fixedNow); n == 0 {
			t.Errorf("no new %s on existing registrations", table)
		}
	}
}

// assertChangeStamps: every change is stamped by the clock, each round's changes share a timestamp, and the
// status updates stamped earlier than another transaction of their round commit after it.
func assertChangeStamps(t *testing.T, db *pgxpool.Pool, start time.Time) {
	// Generated data ends at fixedNow, apart from a few rows stamped in 2099.
	const changes = `FROM registration WHERE update_time > $1 AND update_time < '2090-01-01'`
	changed := count(t, db, `SELECT count(*) `+changes, fixedNow)
	offClock := count(t, db, `SELECT count(*) `+changes+` AND update_time < $2`, fixedNow, start)
	if changed == 0 || offClock != 0 {
		t.Errorf("%d registrations changed, %d stamped off the change clock", changed, offClock)
	}
	if n := count(t, db, `SELECT max(n) FROM (SELECT count(*) n `+changes+` GROUP BY update_time) s`, start); n < 500 {
		t.Errorf("the largest change burst stamps %d registrations, want >= 500", n)
	}
	// Rounds take two clock readings: the early one stamps the status updates of the later transaction.
	stamps := count(t, db, `SELECT count(DISTINCT update_time) `+changes, start)
	if stamps != 8 {
		t.Errorf("changes carry %d distinct timestamps, want 2 per round for 4 rounds", stamps)
	}
}

func TestChangeRunsUntilCancelled(t *testing.T) {
	db, _ := generate(t, seed.Options{Registrations: 500, Now: fixedNow})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock, calls := tickingClock(fixedNow), 0
	now := func() time.Time {
		// Each round reads the clock twice: the third round is cancelled before it writes anything.
		if calls++; calls == 6 {
			cancel()
		}
		return clock()
	}
	st, err := seed.Change(ctx, db, seed.ChangeOptions{BatchSize: 20, Interval: time.Millisecond, Now: now})
	if err != nil {
		t.Fatalf("Change stopped by its context returned %v", err)
	}
	if st.Ops[seed.OpStatus] != 40 {
		t.Errorf("%d status updates, want 20 in each of the 2 completed rounds: %s", st.Ops[seed.OpStatus], st)
	}
}

func TestChangeNeedsGeneratedData(t *testing.T) {
	st, err := seed.Change(context.Background(), newUpstream(t), seed.ChangeOptions{Rounds: 1})
	if err == nil || !strings.Contains(err.Error(), "no registrations") {
		t.Fatalf("Change on an empty upstream: %v, want it refused for having no registrations", err)
	}
	if st.Total() != 0 {
		t.Fatalf("Change on an empty upstream wrote %d rows", st.Total())
	}
}
