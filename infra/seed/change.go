package seed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Kinds of change Change makes: the keys of Stats.Ops.
const (
	OpStatus              = "status_update"
	OpNewRegistration     = "new_registration"
	OpFeedback            = "feedback"
	OpTransferWithinWuhan = "transfer_within_wuhan"
	OpTransferOutOfWuhan  = "transfer_out_of_wuhan"
	OpTransferIntoWuhan   = "transfer_into_wuhan"
	OpOrgMove             = "org_move"
	OpSoftDelete          = "soft_delete"
	OpUndelete            = "undelete"
	OpRestamp             = "burst_restamp"
)

// changeWuhanShare: new registrations during Change land in Wuhan more often than nationally, so a bridge under
// test sees its share of changes quickly.
const changeWuhanShare = 0.2

// Change mutates a generated upstream the way the national platform does, round after round: status changes,
// new registrations with families, feedback, transfers between units in and out of Wuhan, a station moving to
// another district, soft deletes and undeletes, and bulk re-stamps. Every change of a round shares one
// update_time — a burst. Each round is two transactions: the status updates are stamped with a time taken before
// the other transaction's but commit after it, as a slow upstream transaction does (a late commit).
// Rounds == 0 runs until ctx is cancelled, which then ends Change without an error.
func Change(ctx context.Context, db *pgxpool.Pool, opts ChangeOptions) (Stats, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return Stats{}, fmt.Errorf("change options: %w", err)
	}
	c, err := newChanger(ctx, db, opts)
	if err != nil {
		return Stats{}, err
	}
	for round := 0; opts.Rounds == 0 || round < opts.Rounds; round++ {
		if round > 0 {
			if err := sleep(ctx, opts.Interval); err != nil {
				return c.stats, c.stopped(err)
			}
		}
		if err := c.round(ctx, round); err != nil {
			return c.stats, c.stopped(err)
		}
		opts.Progress.roundDone()
	}
	return c.stats, nil
}

// stopped: cancelling an endless Change is how it is stopped, not a failure.
func (c *changer) stopped(err error) error {
	if c.opts.Rounds == 0 && isCancel(err) {
		return nil
	}
	return err
}

func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type changer struct {
	db    *pgxpool.Pool
	opts  ChangeOptions
	r     *rand.Rand
	g     *gen
	live  *liveTree
	stats Stats
}

func newChanger(ctx context.Context, db *pgxpool.Pool, opts ChangeOptions) (*changer, error) {
	r := rand.New(rand.NewPCG(uint64(opts.Seed), 0xC4A6E))
	g := &gen{r: r, t: buildTree()}
	c := &changer{db: db, opts: opts, r: r, g: g, stats: newStats()}
	err := inTx(ctx, db, func(tx pgx.Tx) error {
		var err error
		if c.live, err = loadLiveTree(ctx, tx); err != nil {
			return err
		}
		if err := c.loadStaff(ctx, tx); err != nil {
			return err
		}
		return c.loadNextIDs(ctx, tx)
	})
	if err != nil {
		return nil, fmt.Errorf("load upstream state: %w", err)
	}
	if g.next[tReg] == 0 {
		return nil, errors.New("upstream has no registrations: run Generate first")
	}
	return c, nil
}

func (c *changer) loadStaff(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT id, org_id FROM personnel WHERE NOT is_deleted AND org_id IS NOT NULL ORDER BY id`)
	if err != nil {
		return fmt.Errorf("load personnel: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, orgID string
		if err := rows.Scan(&id, &orgID); err != nil {
			return fmt.Errorf("scan personnel: %w", err)
		}
		if o := c.g.t.byID[orgID]; o != nil {
			o.staff = append(o.staff, id)
		}
	}
	return rows.Err()
}

// loadNextIDs continues each table's id sequence after its highest id.
func (c *changer) loadNextIDs(ctx context.Context, tx pgx.Tx) error {
	for t := tPer; t < numTables; t++ {
		var max *string
		if err := tx.QueryRow(ctx, "SELECT max(id) FROM "+tables[t].name).Scan(&max); err != nil {
			return fmt.Errorf("max id of %s: %w", tables[t].name, err)
		}
		if max == nil {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(*max, tables[t].prefix))
		if err != nil {
			return fmt.Errorf("max id of %s: %q is not a seeded id", tables[t].name, *max)
		}
		c.g.next[t] = n
	}
	return nil
}

// round makes one round of changes: transaction A stamped late, then transaction B stamped early.
func (c *changer) round(ctx context.Context, round int) error {
	early := c.now()
	late := c.now()
	if late.Before(early) {
		late = early
	}
	a := newStats()
	if err := inTx(ctx, c.db, func(tx pgx.Tx) error { return c.roundA(ctx, tx, round, late, a) }); err != nil {
		return fmt.Errorf("change round %d: %w", round, err)
	}
	c.stats.add(a)
	b := newStats()
	if err := inTx(ctx, c.db, func(tx pgx.Tx) error { return c.statusUpdates(ctx, tx, early, b) }); err != nil {
		return fmt.Errorf("change round %d: status updates: %w", round, err)
	}
	c.stats.add(b)
	return nil
}

func (c *changer) now() time.Time { return c.opts.Now().UTC().Truncate(time.Microsecond) }

func (c *changer) roundA(ctx context.Context, tx pgx.Tx, round int, at time.Time, st Stats) error {
	n := c.opts.BatchSize
	steps := []func() error{
		func() error { return c.newRegistrations(ctx, tx, max(1, n/5), at, st) },
		func() error { return c.feedback(ctx, tx, max(1, n/4), at, st) },
		func() error { return c.transfers(ctx, tx, max(1, n/20), at, st) },
		func() error { return c.softDeletes(ctx, tx, max(1, n/20), at, st) },
		func() error { return c.restamp(ctx, tx, n*5, at, st) },
	}
	if round%3 == 0 {
		steps = append(steps, func() error { return c.moveStation(ctx, tx, at, st) })
	}
	if round%2 == 1 {
		steps = append(steps, func() error { return c.undelete(ctx, tx, at, st) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (c *changer) exec(ctx context.Context, tx pgx.Tx, st Stats, table, sql string, args ...any) (int, error) {
	tag, err := tx.Exec(ctx, sql, args...)
	if err != nil {
		return 0, fmt.Errorf("update %s: %w", table, err)
	}
	n := int(tag.RowsAffected())
	st.Rows[table] += n
	return n, nil
}

// randomIDs returns n ids of existing rows of table t, drawn uniformly.
func (c *changer) randomIDs(t, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = seqID(tables[t].prefix, 1+c.r.IntN(c.g.next[t]))
	}
	return out
}

func (c *changer) statusUpdates(ctx context.Context, tx pgx.Tx, at time.Time, st Stats) error {
	n, err := c.exec(ctx, tx, st, tables[tReg].name, `UPDATE registration SET update_time = $1,
		status = CASE status WHEN '10' THEN '20' WHEN '20' THEN '30' WHEN '30' THEN '40' WHEN '40' THEN '50' ELSE status END
		WHERE id = ANY($2)`, at, c.randomIDs(tReg, c.opts.BatchSize))
	st.Ops[OpStatus] += n
	return err
}

func (c *changer) newRegistrations(ctx context.Context, tx pgx.Tx, n int, at time.Time, st Stats) error {
	c.g.clk, c.g.b = fixedClock(at), newBatch()
	for range n {
		c.g.registration(at, c.r.Float64() < changeWuhanShare)
	}
	st.Ops[OpNewRegistration] += n
	return c.g.b.copyTo(ctx, tx, st)
}

// feedback answers registrations waiting for it: an initial check for a pending one, a completion for one
// being handled.
func (c *changer) feedback(ctx context.Context, tx pgx.Tx, n int, at time.Time, st Stats) error {
	rows, err := tx.Query(ctx, `SELECT id, handle_dept_id, coalesce(handler_id, ''), status FROM registration
		WHERE id = ANY($1) AND NOT is_deleted AND handle_dept_id IS NOT NULL AND status IN ('20', '30', '40') ORDER BY id`,
		c.randomIDs(tReg, 4*n))
	if err != nil {
		return fmt.Errorf("pick registrations for feedback: %w", err)
	}
	type waiting struct{ id, dept, handler, status string }
	var todo []waiting
	for rows.Next() {
		var w waiting
		if err := rows.Scan(&w.id, &w.dept, &w.handler, &w.status); err != nil {
			rows.Close()
			return fmt.Errorf("scan registration: %w", err)
		}
		todo = append(todo, w)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pick registrations for feedback: %w", err)
	}
	c.g.b = newBatch()
	for _, w := range todo[:min(n, len(todo))] {
		status := statusDone
		if w.status == statusPending {
			status = statusHandling
			c.g.b[tIfb].add(c.g.id(tIfb), at, false, w.id, w.dept, text(w.handler), "1", pick(c.r, initialContents["1"]), at)
		} else {
			c.g.b[tFfb].add(c.g.id(tFfb), at, false, w.id, w.dept, text(w.handler), "9", nil, pick(c.r, finalContents["9"]), at)
		}
		if _, err := c.exec(ctx, tx, st, tables[tReg].name,
			`UPDATE registration SET status = $2, update_time = $3 WHERE id = $1`, w.id, status, at); err != nil {
			return err
		}
		st.Ops[OpFeedback]++
	}
	return c.g.b.copyTo(ctx, tx, st)
}

// transfers moves registrations between units: within Wuhan, out of Wuhan to 黄石, and from 黄石 into Wuhan.
func (c *changer) transfers(ctx context.Context, tx pgx.Tx, n int, at time.Time, st Stats) error {
	wuhan := c.live.units(wuhanID, false, nil)
	wuhanTargets := c.live.units(wuhanID, false, func(id string) bool { return !isDepartment(id) })
	huangshi := c.live.units(huangshiID, true, nil)
	huangshiTargets := c.live.units(huangshiID, true, func(id string) bool {
		return id == huangshiID || c.live.parent[id] == huangshiID && c.live.division[id] != ""
	})
	moves := []struct {
		op       string
		from, to []string
	}{
		{OpTransferWithinWuhan, wuhan, wuhanTargets},
		{OpTransferOutOfWuhan, wuhan, huangshiTargets},
		{OpTransferIntoWuhan, huangshi, wuhanTargets},
	}
	for _, m := range moves {
		picked, err := c.sampleHandledBy(ctx, tx, m.from, n)
		if err != nil {
			return err
		}
		for _, p := range picked {
			if err := c.transfer(ctx, tx, p[0], c.target(p[1], m.to), at, st); err != nil {
				return err
			}
			st.Ops[m.op]++
		}
	}
	return nil
}

// target picks a unit of to outside the source's district or zone.
func (c *changer) target(from string, to []string) string {
	group := c.live.group(from, wuhanID)
	for range 20 {
		t := to[c.r.IntN(len(to))]
		if group == "" || c.live.group(t, wuhanID) != group {
			return t
		}
	}
	return to[0]
}

func (c *changer) transfer(ctx context.Context, tx pgx.Tx, regID, to string, at time.Time, st Stats) error {
	var handler string
	if o := c.g.t.byID[to]; o != nil {
		handler = pickStaff(c.r, o)
	}
	_, err := c.exec(ctx, tx, st, tables[tReg].name, `UPDATE registration SET handle_dept_id = $2, handler_id = $3,
		division_code = $4, status = $5, update_time = $6 WHERE id = $1`,
		regID, to, text(handler), text(c.live.divisionOf(to)), statusPending, at)
	return err
}

// sampleHandledBy returns up to n live registrations (id, handling unit) handled by one of units, scanning in id
// order from a random point.
func (c *changer) sampleHandledBy(ctx context.Context, tx pgx.Tx, units []string, n int) ([][2]string, error) {
	if len(units) == 0 {
		return nil, nil
	}
	const q = `SELECT id, handle_dept_id FROM registration
		WHERE NOT is_deleted AND handle_dept_id = ANY($1) AND id >= $2 ORDER BY id LIMIT $3`
	var out [][2]string
	seen := map[string]bool{}
	for _, from := range []string{c.randomIDs(tReg, 1)[0], tables[tReg].prefix} {
		rows, err := tx.Query(ctx, q, units, from, n-len(out))
		if err != nil {
			return nil, fmt.Errorf("sample registrations: %w", err)
		}
		for rows.Next() {
			var p [2]string
			if err := rows.Scan(&p[0], &p[1]); err != nil {
				rows.Close()
				return nil, fmt.Errorf("scan registration: %w", err)
			}
			if !seen[p[0]] {
				seen[p[0]] = true
				out = append(out, p)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sample registrations: %w", err)
		}
		if len(out) >= n {
			break
		}
	}
	return out, nil
}

// moveStation re-parents a Wuhan station to another district or zone bureau.
func (c *changer) moveStation(ctx context.Context, tx pgx.Tx, at time.Time, st Stats) error {
	stations := c.live.units(wuhanID, false, isStation)
	bureaus := c.live.units(wuhanID, false, func(id string) bool { return c.live.parent[id] == wuhanID && !isDepartment(id) })
	if len(stations) == 0 || len(bureaus) < 2 {
		return nil
	}
	s := stations[c.r.IntN(len(stations))]
	to := c.live.parent[s]
	for to == c.live.parent[s] {
		to = bureaus[c.r.IntN(len(bureaus))]
	}
	n, err := c.exec(ctx, tx, st, tables[tOrg].name,
		`UPDATE organization SET parent_id = $2, update_time = $3 WHERE id = $1`, s, to, at)
	if err != nil {
		return err
	}
	c.live.parent[s] = to // tx may still roll back; the next round then moves from a slightly wrong parent, harmlessly
	st.Ops[OpOrgMove] += n
	return nil
}

// deletable tables, repeated by weight.
var deletable = []int{tReg, tReg, tInf, tSub, tObj, tObj, tIfb, tFfb, tMed, tCas, tSup, tPer}

// softDeletes flips is_deleted on random rows, one of them always a Wuhan registration.
func (c *changer) softDeletes(ctx context.Context, tx pgx.Tx, n int, at time.Time, st Stats) error {
	wuhan, err := c.sampleHandledBy(ctx, tx, c.live.units(wuhanID, false, nil), 1)
	if err != nil {
		return err
	}
	type victim struct {
		t  int
		id string
	}
	var victims []victim
	for _, p := range wuhan {
		victims = append(victims, victim{tReg, p[0]})
	}
	for len(victims) < n {
		t := deletable[c.r.IntN(len(deletable))]
		if c.g.next[t] > 0 {
			victims = append(victims, victim{t, c.randomIDs(t, 1)[0]})
		}
	}
	for _, v := range victims {
		k, err := c.exec(ctx, tx, st, tables[v.t].name,
			"UPDATE "+tables[v.t].name+" SET is_deleted = true, update_time = $1 WHERE id = $2 AND NOT is_deleted", at, v.id)
		if err != nil {
			return err
		}
		st.Ops[OpSoftDelete] += k
	}
	return nil
}

// undelete restores one soft-deleted row, as an operator correcting a mistake does.
func (c *changer) undelete(ctx context.Context, tx pgx.Tx, at time.Time, st Stats) error {
	t := deletable[c.r.IntN(len(deletable))]
	if c.g.next[t] == 0 {
		return nil
	}
	name := tables[t].name
	q := "UPDATE " + name + " SET is_deleted = false, update_time = $1 WHERE id = (SELECT id FROM " + name +
		" WHERE is_deleted AND id >= $2 ORDER BY id LIMIT 1)"
	for _, from := range []string{c.randomIDs(t, 1)[0], tables[t].prefix} {
		k, err := c.exec(ctx, tx, st, name, q, at, from)
		if err != nil {
			return err
		}
		if k > 0 {
			st.Ops[OpUndelete] += k
			return nil
		}
	}
	return nil
}

// restamp is a bulk job touching a run of n registrations and their info providers: n rows, one timestamp.
func (c *changer) restamp(ctx context.Context, tx pgx.Tx, n int, at time.Time, st Stats) error {
	first := 1 + c.r.IntN(c.g.next[tReg])
	for _, t := range []int{tReg, tInf} {
		k, err := c.exec(ctx, tx, st, tables[t].name, "UPDATE "+tables[t].name+
			" SET update_time = $1 WHERE id >= $2 AND id < $3", at,
			seqID(tables[t].prefix, first), seqID(tables[t].prefix, first+n))
		if err != nil {
			return err
		}
		if t == tReg {
			st.Ops[OpRestamp] += k
		}
	}
	return nil
}
