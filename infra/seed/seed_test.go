package seed_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/seed"
	"hotline-bridge/schemas"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixedNow makes generated data reproducible.
var fixedNow = time.Date(2025, 3, 20, 15, 4, 5, 123456000, time.FixedZone("CST", 8*3600))

// newUpstream is a fresh database with the reference upstream schema applied.
func newUpstream(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ddl, err := schemas.Upstream.ReadFile("upstream/001_reference_upstream.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, string(ddl)); err != nil {
		t.Fatalf("apply upstream schema: %v", err)
	}
	return pool
}

func generate(t testing.TB, opts seed.Options) (*pgxpool.Pool, seed.Stats) {
	t.Helper()
	pool := newUpstream(t)
	start := time.Now()
	st, err := seed.Generate(context.Background(), pool, opts)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	t.Logf("generated in %s: %s", time.Since(start).Round(time.Millisecond), st)
	return pool, st
}

func count(t testing.TB, db *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func column(t testing.TB, db *pgxpool.Pool, sql string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wuhanUnits selects the organisations whose parent chain reaches ORG-420100.
const wuhanUnits = `WITH RECURSIVE wuhan(id) AS (
	SELECT id FROM organization WHERE id = 'ORG-420100'
	UNION SELECT o.id FROM organization o JOIN wuhan w ON o.parent_id = w.id)`

var childTables = []string{events.InfoProvider, events.Subject, events.Object, events.InitialFeedback,
	events.FinalFeedback, events.Mediation, events.CaseInfo, events.Supervision}

func TestGenerateDefault(t *testing.T) {
	db, st := generate(t, seed.Options{Now: fixedNow, Seed: 7})

	t.Run("stats match the tables", func(t *testing.T) {
		for _, k := range events.Catalogue {
			if got := count(t, db, "SELECT count(*) FROM "+k.Table); got != st.Rows[k.Table] || got == 0 {
				t.Errorf("%s: %d rows, stats say %d", k.Table, got, st.Rows[k.Table])
			}
		}
		if got := st.Rows[events.Registration]; got != 20000 {
			t.Errorf("registrations = %d, want the default 20000", got)
		}
	})
	t.Run("organisation tree", func(t *testing.T) { assertOrgTree(t, db) })
	t.Run("personnel", func(t *testing.T) { assertPersonnel(t, db) })
	t.Run("dictionary", func(t *testing.T) { assertDictionary(t, db) })
	t.Run("wuhan share", func(t *testing.T) { assertWuhanShare(t, db, 0.04) })
	t.Run("families", func(t *testing.T) { assertFamilies(t, db) })
	t.Run("personal data formats", func(t *testing.T) { assertFormats(t, db) })
	t.Run("update times", func(t *testing.T) { assertUpdateTimes(t, db) })
}

func assertOrgTree(t *testing.T, db *pgxpool.Pool) {
	type node struct{ id, parent, division string }
	want := []node{
		{"ORG-SAMR", "", ""},
		{"ORG-420000", "ORG-SAMR", "420000"},
		{"ORG-420100", "ORG-420000", "420100"},
		{"ORG-420200", "ORG-420000", "420200"},
		{"ORG-420202", "ORG-420200", "420202"},
		{"ORG-420300", "ORG-420000", "420300"},
		{"ORG-420500", "ORG-420000", "420500"},
		{"ORG-WH-DHGX", "ORG-420100", ""},
		{"ORG-WH-WHKF", "ORG-420100", ""},
		{"ORG-WH-DHFJ", "ORG-420100", ""},
		{"ORG-WH-CJXQ", "ORG-420100", ""},
		{"ORG-420106-S01", "ORG-420106", ""},
		{"ORG-420106-S02", "ORG-420106", ""},
		{"ORG-WH-DHGX-S01", "ORG-WH-DHGX", ""},
		{"ORG-420100-D01", "ORG-420100", ""},
		{"ORG-420200-D01", "ORG-420200", ""},
		{"ORG-110000", "ORG-SAMR", "110000"},
		{"ORG-110101", "ORG-110000", "110101"},
		{"ORG-440100", "ORG-440000", "440100"},
		{"ORG-440106", "ORG-440100", "440106"},
	}
	for _, d := range []string{"420102", "420103", "420104", "420105", "420106", "420107", "420111", "420112",
		"420113", "420114", "420115", "420116", "420117"} {
		want = append(want, node{"ORG-" + d, "ORG-420100", d})
	}
	for _, w := range want {
		var parent, division string
		err := db.QueryRow(context.Background(), `SELECT coalesce(parent_id, ''), coalesce(division_code, '')
			FROM organization WHERE id = $1 AND NOT is_deleted`, w.id).Scan(&parent, &division)
		if err != nil {
			t.Errorf("organisation %s: %v", w.id, err)
			continue
		}
		if parent != w.parent || division != w.division {
			t.Errorf("organisation %s: parent %q division %q, want %q %q", w.id, parent, division, w.parent, w.division)
		}
	}
	provinces := column(t, db, `SELECT division_code FROM organization WHERE parent_id = 'ORG-SAMR' ORDER BY 1`)
	wantProvinces := "110000 120000 130000 140000 150000 210000 220000 230000 310000 320000 330000 340000 350000 " +
		"360000 370000 410000 420000 430000 440000 450000 460000 500000 510000 520000 530000 540000 610000 620000 " +
		"630000 640000 650000"
	if got := strings.Join(provinces, " "); got != wantProvinces {
		t.Errorf("provinces:\n got %s\nwant %s", got, wantProvinces)
	}
	if n := count(t, db, `SELECT count(*) FROM organization WHERE name = '湖北省市场监督管理局' AND id = 'ORG-420000'`); n != 1 {
		t.Errorf("ORG-420000 is not named 湖北省市场监督管理局")
	}
	// Every Wuhan district and zone bureau has 2–4 stations.
	bad := column(t, db, `SELECT b.id FROM organization b LEFT JOIN organization s ON s.parent_id = b.id AND s.id LIKE '%-S__'
		WHERE b.parent_id = 'ORG-420100' AND b.id NOT LIKE '%-D__' GROUP BY b.id HAVING count(s.id) NOT BETWEEN 2 AND 4`)
	if len(bad) > 0 {
		t.Errorf("bureaus without 2–4 stations: %v", bad)
	}
	if n := count(t, db, `SELECT count(*) FROM organization WHERE parent_id = 'ORG-420100' AND id NOT LIKE '%-D__'`); n != 17 {
		t.Errorf("Wuhan has %d district and zone bureaus, want 17", n)
	}
	if n := count(t, db, `SELECT count(*) FROM organization o WHERE parent_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM organization p WHERE p.id = o.parent_id)`); n != 0 {
		t.Errorf("%d organisations have a missing parent", n)
	}
	if n := count(t, db, `SELECT count(*) FROM organization WHERE division_code !~ '00$' AND parent_id <> 'ORG-420100'`); n < 80 {
		t.Errorf("only %d district bureaus outside Wuhan", n)
	}
}

func assertPersonnel(t *testing.T, db *pgxpool.Pool) {
	understaffed := column(t, db, wuhanUnits+`
		SELECT w.id FROM wuhan w LEFT JOIN personnel p ON p.org_id = w.id GROUP BY w.id HAVING count(p.id) < 3`)
	if len(understaffed) > 0 {
		t.Errorf("Wuhan units with fewer than 3 personnel: %v", understaffed)
	}
	if n := count(t, db, `SELECT count(*) FROM organization o WHERE NOT EXISTS (SELECT 1 FROM personnel p WHERE p.org_id = o.id)`); n != 0 {
		t.Errorf("%d organisations without personnel", n)
	}
	if n := count(t, db, `SELECT count(*) FROM personnel WHERE phone !~ '^1[3-9][0-9]{9}$' OR name !~ '^[一-龥]{2,4}$'`); n != 0 {
		t.Errorf("%d personnel with an implausible name or phone", n)
	}
}

func assertDictionary(t *testing.T, db *pgxpool.Pool) {
	got := column(t, db, `SELECT code || label FROM dictionary WHERE dict_type = 'reg_kind' AND division_code IS NULL ORDER BY code`)
	if strings.Join(got, ",") != "1投诉,2举报,3咨询,4建议" {
		t.Errorf("reg_kind = %v", got)
	}
	got = column(t, db, `SELECT code FROM dictionary WHERE dict_type = 'mediation_result' AND division_code IS NULL ORDER BY code`)
	if strings.Join(got, ",") != "1,2,3,4,5,9" {
		t.Errorf("mediation_result codes = %v", got)
	}
	if n := count(t, db, `SELECT count(DISTINCT division_code) FROM dictionary WHERE division_code LIKE '4201%'`); n < 10 {
		t.Errorf("Wuhan local dictionary covers %d division codes", n)
	}
	if n := count(t, db, `SELECT count(*) FROM dictionary WHERE division_code NOT LIKE '4201%'`); n == 0 {
		t.Error("no other city's local dictionary entries")
	}
}

func assertWuhanShare(t *testing.T, db *pgxpool.Pool, share float64) {
	total := count(t, db, `SELECT count(*) FROM registration`)
	wuhan := count(t, db, wuhanUnits+` SELECT count(*) FROM registration WHERE handle_dept_id IN (SELECT id FROM wuhan)`)
	got := float64(wuhan) / float64(total)
	// 3% of Wuhan's registrations are not dispatched yet and carry only a division code.
	if want := share * 0.97; got < want*0.85 || got > want*1.15 {
		t.Errorf("Wuhan handles %d of %d registrations (%.4f), want about %.4f", wuhan, total, got, want)
	}
	groups := count(t, db, `WITH RECURSIVE sub(id, grp) AS (
			SELECT id, id FROM organization WHERE parent_id = 'ORG-420100' AND id NOT LIKE '%-D__'
			UNION ALL SELECT o.id, s.grp FROM organization o JOIN sub s ON o.parent_id = s.id)
		SELECT count(DISTINCT grp) FROM registration r JOIN sub ON sub.id = r.handle_dept_id`)
	if groups != 17 {
		t.Errorf("Wuhan registrations are spread over %d districts and zones, want all 17", groups)
	}
	undispatched := count(t, db, `SELECT count(*) FROM registration WHERE handle_dept_id IS NULL AND division_code IS NOT NULL`)
	undispatchedWuhan := count(t, db, `SELECT count(*) FROM registration WHERE handle_dept_id IS NULL AND division_code ~ '^4201(0[2-7]|1[1-7])$'`)
	if f := float64(undispatched) / float64(total); f < 0.02 || f > 0.04 || undispatchedWuhan == 0 || undispatchedWuhan == undispatched {
		t.Errorf("undispatched registrations: %d of %d, %d with a Wuhan district code", undispatched, total, undispatchedWuhan)
	}
	kinds := column(t, db, `SELECT kind::text FROM registration GROUP BY kind ORDER BY count(*) DESC`)
	if strings.Join(kinds, "") != "1324" {
		t.Errorf("kinds by frequency = %v, want complaints and enquiries first", kinds)
	}
}

func assertFamilies(t *testing.T, db *pgxpool.Pool) {
	if n := count(t, db, `SELECT count(*) FROM registration r WHERE (SELECT count(*) FROM info_provider i WHERE i.registration_id = r.id) <> 1`); n != 0 {
		t.Errorf("%d registrations without exactly one info provider", n)
	}
	for _, table := range childTables {
		orphans := count(t, db, `SELECT count(*) FROM `+table+` c WHERE registration_id IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM registration r WHERE r.id = c.registration_id)`)
		standalone := count(t, db, `SELECT count(*) FROM `+table+` WHERE registration_id IS NULL`)
		if orphans != 0 || (standalone != 0) != (table == events.CaseInfo) {
			t.Errorf("%s: %d orphans, %d without a registration", table, orphans, standalone)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM mediation WHERE result NOT IN ('1','2','3','4','5','9')`); n != 0 {
		t.Errorf("%d mediations with an unknown result", n)
	}
	if n := count(t, db, `SELECT count(DISTINCT result) FROM mediation`); n != 6 {
		t.Errorf("mediations use %d distinct results, want 6", n)
	}
	if n := count(t, db, `SELECT count(*) FROM final_feedback WHERE recovered_amount > 0`); n == 0 {
		t.Error("no completion feedback recovered any money")
	}
	if n := count(t, db, `SELECT count(*) FROM supervision s JOIN registration r ON r.id = s.registration_id
		WHERE s.supervised_org_id = s.supervising_org_id OR s.supervised_org_id IS NULL`); n != 0 {
		t.Errorf("%d supervisions supervise themselves", n)
	}
	if n := count(t, db, `SELECT count(*) FROM case_info c WHERE NOT EXISTS (SELECT 1 FROM organization o WHERE o.id = c.filing_org_id)`); n != 0 {
		t.Errorf("%d cases filed by an unknown organisation", n)
	}
	// Wuhan's cases carry Hubei's abbreviation; supervising provinces are the supervised bureau's own.
	if n := count(t, db, wuhanUnits+` SELECT count(*) FROM case_info WHERE filing_org_id IN (SELECT id FROM wuhan) AND case_no NOT LIKE '鄂%'`); n != 0 {
		t.Errorf("%d Wuhan cases without 鄂 in their case number", n)
	}
	if n := count(t, db, `SELECT count(*) FROM supervision WHERE supervising_org_id ~ '^ORG-..0000$'
		AND substr(supervised_org_id, 5, 2) <> substr(supervising_org_id, 5, 2)`); n != 0 {
		t.Errorf("%d supervisions by another province's bureau", n)
	}
	if n := count(t, db, `SELECT count(*) FROM registration r JOIN personnel p ON p.id = r.registrar_id
		WHERE r.handle_dept_id IS NOT NULL AND substr(p.org_id, 5, 2) <> substr(r.handle_dept_id, 5, 2) AND r.handle_dept_id NOT LIKE 'ORG-WH-%'`); n != 0 {
		t.Errorf("%d registrations registered by another province's staff", n)
	}
	// Feedback comes from the unit handling the registration.
	if n := count(t, db, `SELECT count(*) FROM initial_feedback f JOIN registration r ON r.id = f.registration_id
		WHERE f.dept_id IS DISTINCT FROM r.handle_dept_id`); n != 0 {
		t.Errorf("%d initial feedbacks from another unit", n)
	}
}

var (
	idCardRe = regexp.MustCompile(`^[1-6][0-9]{5}(19[5-9][0-9]|200[0-6])(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]$`)
	usccRe   = regexp.MustCompile(`^9[12][1-6][0-9]{5}[0-9]{8}[0-9X][0-9A-HJ-NPQRTUWXY]$`)
)

func assertFormats(t *testing.T, db *pgxpool.Pool) {
	if n := count(t, db, `SELECT count(*) FROM info_provider WHERE phone !~ '^1[3-9][0-9]{9}$'`); n != 0 {
		t.Errorf("%d info providers with a malformed mobile", n)
	}
	for _, id := range column(t, db, `SELECT id_card_no FROM info_provider ORDER BY id LIMIT 2000`) {
		if !idCardRe.MatchString(id) || !seed.ValidIDCardNo(id) {
			t.Fatalf("implausible ID card number %q", id)
		}
	}
	for _, code := range column(t, db, `SELECT uscc FROM subject ORDER BY id LIMIT 2000`) {
		if !usccRe.MatchString(code) || !seed.ValidUSCC(code) {
			t.Fatalf("implausible USCC %q", code)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM subject WHERE substr(uscc, 3, 6) <> business_division_code`); n == 0 {
		t.Error("every business operates where it was registered: the USCC should be a weak hint only")
	}
	if n := count(t, db, `SELECT count(*) FROM registration WHERE summary !~ '[一-龥]' OR reg_no IS NULL`); n != 0 {
		t.Errorf("%d registrations without a Chinese summary or reg no", n)
	}
}

func assertUpdateTimes(t *testing.T, db *pgxpool.Pool) {
	all := append([]string{events.Registration}, childTables...)
	biggest := 0
	for _, table := range all {
		biggest = max(biggest, count(t, db, `SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM `+table+` GROUP BY update_time) b`))
		q := `SELECT count(*) FROM ` + table + ` c JOIN registration r ON r.id = c.registration_id
			WHERE c.update_time < r.registered_at AND c.update_time > 'epoch'`
		if table == events.Registration {
			q = `SELECT count(*) FROM registration WHERE update_time < registered_at AND update_time > 'epoch'`
		}
		early := count(t, db, q)
		if early != 0 {
			t.Errorf("%s: %d rows changed before their registration was registered", table, early)
		}
	}
	if biggest <= 1000 {
		t.Errorf("the largest burst stamps %d rows of one table, want > 1000", biggest)
	}
	union := make([]string, len(all))
	for i, table := range all {
		union[i] = "SELECT update_time, is_deleted FROM " + table
	}
	rows := "(" + strings.Join(union, " UNION ALL ") + ") u"
	epoch := count(t, db, `SELECT count(*) FROM `+rows+` WHERE update_time = 'epoch'`)
	future := count(t, db, `SELECT count(*) FROM `+rows+` WHERE update_time > now() + interval '10 years'`)
	deleted := count(t, db, `SELECT count(*) FROM `+rows+` WHERE is_deleted`)
	total := count(t, db, `SELECT count(*) FROM `+rows)
	if epoch == 0 || future == 0 || epoch > total/200 || future > total/200 {
		t.Errorf("%d epoch and %d future rows of %d", epoch, future, total)
	}
	if f := float64(deleted) / float64(total); f < 0.002 || f > 0.01 {
		t.Errorf("%d of %d rows soft-deleted", deleted, total)
	}
	inWindow := count(t, db, `SELECT count(*) FROM registration WHERE update_time BETWEEN $1::timestamptz - interval '30 days' AND $1`, fixedNow)
	if inWindow < 19000 {
		t.Errorf("only %d registrations changed within the 30 days before Now", inWindow)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	opts := seed.Options{Registrations: 3000, Seed: 42, Now: fixedNow, Days: 10}
	a, _ := generate(t, opts)
	opts.ChunkSize = 700 // chunking must not change the data
	b, _ := generate(t, opts)
	opts.Seed = 43
	c, _ := generate(t, opts)
	for _, k := range events.Catalogue {
		ha, hb, hc := digest(t, a, k.Table), digest(t, b, k.Table), digest(t, c, k.Table)
		if ha != hb {
			t.Errorf("%s differs between two runs with the same seed", k.Table)
		}
		if ha == hc && k.Table != events.Organization && k.Table != events.Dictionary {
			t.Errorf("%s is the same for seeds 42 and 43", k.Table)
		}
	}
}

func digest(t *testing.T, db *pgxpool.Pool, table string) string {
	var h string
	q := fmt.Sprintf(`SELECT md5(string_agg(t::text, E'\n' ORDER BY id)) FROM %s t`, table)
	if err := db.QueryRow(context.Background(), q).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestGenerateRefusesNonEmptyUpstream(t *testing.T) {
	db, _ := generate(t, seed.Options{Registrations: 10, Now: fixedNow})
	if _, err := seed.Generate(context.Background(), db, seed.Options{Registrations: 10, Now: fixedNow}); err == nil ||
		!strings.Contains(err.Error(), seed.ErrNotEmpty.Error()) {
		t.Fatalf("second Generate: %v, want ErrNotEmpty", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	err := seed.Options{Registrations: -1, WuhanShare: 2, Days: -3}.Validate()
	for _, want := range []string{"registrations", "wuhan share", "days"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to report %s", err, want)
		}
	}
}
