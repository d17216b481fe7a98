package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/infra/postgres"
)

// expectedSQL computes, independently of the bridge and in SQL over the upstream, what the dedicated store must
// hold: every Wuhan row with its unit, by the rules of the sort issue. $1/$2 are the unit catalogue's org ids
// and their units, $3/$4 its division codes and their units.
const expectedSQL = `
WITH RECURSIVE
unit_org(org_id, unit) AS (SELECT * FROM unnest($1::text[], $2::text[])),
unit_div(code, unit) AS (SELECT * FROM unnest($3::text[], $4::text[])),
walk AS (
    SELECT o.id AS start, o.id AS node, o.parent_id, o.division_code, 0 AS depth FROM organization o
    UNION ALL
    SELECT w.start, p.id, p.parent_id, p.division_code, w.depth + 1
    FROM walk w JOIN organization p ON p.id = w.parent_id WHERE w.depth < 64),
org_unit AS (
    SELECT DISTINCT ON (w.start) w.start AS id, coalesce(uo.unit, ud.unit) AS unit
    FROM walk w LEFT JOIN unit_org uo ON uo.org_id = w.node LEFT JOIN unit_div ud ON ud.code = w.division_code
    WHERE coalesce(uo.unit, ud.unit) IS NOT NULL ORDER BY w.start, w.depth),
reg_unit AS (
    SELECT r.id, CASE WHEN coalesce(r.handle_dept_id, '') <> '' THEN ou.unit ELSE ud.unit END AS unit
    FROM registration r LEFT JOIN org_unit ou ON ou.id = r.handle_dept_id LEFT JOIN unit_div ud ON ud.code = r.division_code),
expected(table_name, id, update_time, unit_code, is_deleted) AS (
    SELECT 'organization', o.id, o.update_time, ou.unit, o.is_deleted FROM organization o JOIN org_unit ou ON ou.id = o.id
    UNION ALL SELECT 'personnel', p.id, p.update_time, ou.unit, p.is_deleted FROM personnel p JOIN org_unit ou ON ou.id = p.org_id
    UNION ALL SELECT 'dictionary', d.id, d.update_time, 'broadcast', d.is_deleted FROM dictionary d
        WHERE coalesce(d.division_code, '') = '' OR d.division_code LIKE '4201%%'
    UNION ALL SELECT 'registration', r.id, r.update_time, ru.unit, r.is_deleted FROM registration r JOIN reg_unit ru ON ru.id = r.id
    %s
    UNION ALL SELECT 'case_info', c.id, c.update_time, CASE WHEN coalesce(c.filing_org_id, '') <> '' THEN ou.unit ELSE ru.unit END, c.is_deleted
        FROM case_info c LEFT JOIN org_unit ou ON ou.id = c.filing_org_id LEFT JOIN reg_unit ru ON ru.id = c.registration_id
    UNION ALL SELECT 'supervision', s.id, s.update_time, CASE WHEN coalesce(s.supervised_org_id, '') <> '' THEN ou.unit ELSE ru.unit END, s.is_deleted
        FROM supervision s LEFT JOIN org_unit ou ON ou.id = s.supervised_org_id LEFT JOIN reg_unit ru ON ru.id = s.registration_id)
SELECT table_name, id, update_time, unit_code, is_deleted FROM expected WHERE unit_code IS NOT NULL`

// familySQL adds the kinds that simply follow their registration.
func familySQL() string {
	out := ""
	for _, t := range []string{"info_provider", "subject", "object", "initial_feedback", "final_feedback", "mediation"} {
		out += fmt.Sprintf("UNION ALL SELECT '%[1]s', x.id, x.update_time, ru.unit, x.is_deleted FROM %[1]s x JOIN reg_unit ru ON ru.id = x.registration_id\n    ", t)
	}
	return out
}

// storedRow is what the comparison looks at.
type storedRow struct {
	UpdateTime time.Time
	Unit       string
	Deleted    bool
}

func expectedStore(t *testing.T, upstream *pgxpool.Pool) map[string]storedRow {
	t.Helper()
	return expectedStoreUnder(t, upstream, jurisdiction.DefaultUnits())
}

// expectedStoreUnder is expectedStore under another unit catalogue.
func expectedStoreUnder(t *testing.T, upstream *pgxpool.Pool, units *jurisdiction.Units) map[string]storedRow {
	t.Helper()
	var orgIDs, orgUnits, divs, divUnits []string
	for _, code := range units.Codes() {
		u, _ := units.Get(code)
		for _, id := range u.OrgIDs {
			orgIDs, orgUnits = append(orgIDs, id), append(orgUnits, code)
		}
		for _, d := range u.DivisionCodes {
			divs, divUnits = append(divs, d), append(divUnits, code)
		}
	}
	rows, err := upstream.Query(context.Background(), fmt.Sprintf(expectedSQL, familySQL()), orgIDs, orgUnits, divs, divUnits)
	if err != nil {
		t.Fatalf("compute expected store: %v", err)
	}
	return collectStored(t, rows)
}

func actualStore(t *testing.T, storeURL string) map[string]storedRow {
	t.Helper()
	db, err := postgres.Open(context.Background(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	query := ""
	for i, k := range events.Catalogue {
		if i > 0 {
			query += " UNION ALL "
		}
		query += fmt.Sprintf("SELECT '%[1]s', id, update_time, unit_code, is_deleted FROM wuhan.%[1]s", k.Table)
	}
	rows, err := db.Query(context.Background(), query)
	if err != nil {
		t.Fatalf("read store: %v", err)
	}
	return collectStored(t, rows)
}

type scanner interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close()
}

func collectStored(t *testing.T, rows scanner) map[string]storedRow {
	t.Helper()
	defer rows.Close()
	out := map[string]storedRow{}
	for rows.Next() {
		var table, id string
		var r storedRow
		if err := rows.Scan(&table, &id, &r.UpdateTime, &r.Unit, &r.Deleted); err != nil {
			t.Fatal(err)
		}
		out[table+" "+id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// assertStoreMatchesRules compares the store with the SQL computation row by row.
func assertStoreMatchesRules(t *testing.T, e *bridgeEnv) int {
	t.Helper()
	return assertStoreMatchesRulesUnder(t, e, jurisdiction.DefaultUnits())
}

// assertStoreMatchesRulesUnder is assertStoreMatchesRules under another unit catalogue.
func assertStoreMatchesRulesUnder(t *testing.T, e *bridgeEnv, units *jurisdiction.Units) int {
	t.Helper()
	want, got := expectedStoreUnder(t, e.upstream, units), actualStore(t, e.cfg.StoreURL)
	bad := 0
	report := func(format string, args ...any) {
		if bad < 10 {
			t.Errorf(format, args...)
		}
		bad++
	}
	for key, w := range want {
		g, ok := got[key]
		switch {
		case !ok:
			report("%s: missing from the store (want unit %s)", key, w.Unit)
		case !g.UpdateTime.Equal(w.UpdateTime) || g.Unit != w.Unit || g.Deleted != w.Deleted:
			report("%s: stored %+v, want %+v", key, g, w)
		}
	}
	for key, g := range got {
		if _, ok := want[key]; !ok {
			report("%s: in the store (unit %s) but not Wuhan's", key, g.Unit)
		}
	}
	if bad > 0 {
		t.Fatalf("%d differences between the store and the rules (%d rows expected)", bad, len(want))
	}
	return len(want)
}
