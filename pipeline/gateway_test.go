package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/infra/dev/localproc"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/pipeline"
)

// gatewaySQL gives the tree's units clerks, the dictionary the feedback result codes, and work orders to act on.
const gatewaySQL = `
INSERT INTO personnel (id, update_time, org_id, name, phone) VALUES
	('P-420106', now() - interval '2 days', 'ORG-420106', '李四', '13900001111'),
	('P-420102', now() - interval '2 days', 'ORG-420102-S01', '王五', '13900002222');
INSERT INTO dictionary (id, update_time, dict_type, code, label) VALUES
	('D-I1', now() - interval '2 days', 'initial_result', '1', '受理'),
	('D-F9', now() - interval '2 days', 'final_result', '9', '其他');
INSERT INTO registration (id, update_time, reg_no, kind, status, handle_dept_id) VALUES
	('GR1', now() - interval '1 hour', 'GW-0001', 1, '20', 'ORG-420106'),
	('GR2', now() - interval '1 hour', 'GW-0002', 1, '20', 'ORG-420102'),
	('GR3', now() - interval '1 hour', 'GW-0003', 1, '20', 'ORG-420106'),
	('GR4', now() - interval '1 hour', 'GW-0004', 1, '20', 'ORG-420106'),
	('GR5', now() - interval '1 hour', 'GW-0005', 1, '20', 'ORG-420106');`

// gatewayEnv is a bridge environment with the fixture sorted into the store and tokens for two units and the
// hotline.
type gatewayEnv struct {
	*bridgeEnv
	unit, other, hotline string // tokens of 420106, 420102 and the hotline
}

func newGatewayEnv(t *testing.T) *gatewayEnv {
	t.Helper()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	e.cfg.GatewayConfirmInterval = 100 * time.Millisecond
	e.cfg.GatewayRate, e.cfg.GatewayBurst = 1e6, 1<<20
	e.exec(t, treeSQL)
	e.exec(t, gatewaySQL)
	e.runUntilIdle(t)
	g := &gatewayEnv{bridgeEnv: e}
	g.unit, g.other, g.hotline = g.token(t, "420106"), g.token(t, "420102"), g.token(t, "12345")
	return g
}

func (g *gatewayEnv) token(t *testing.T, caller string) string {
	t.Helper()
	token, err := pipeline.CreateGatewayToken(context.Background(), g.cfg, quietLogger(), caller, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// serve runs bridge gateway with cfg until the test ends and returns its base URL.
func serveGateway(t testing.TB, cfg pipeline.Config) string {
	t.Helper()
	cfg.GatewayAddr = "127.0.0.1:0"
	addrs, done := make(chan string, 1), make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		done <- pipeline.ServeGateway(ctx, cfg, quietLogger(), pipeline.GatewayHooks{Listening: func(a string) { addrs <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bridge gateway: %v", err)
		}
	})
	select {
	case addr := <-addrs:
		return "http://" + addr
	case err := <-done:
		t.Fatalf("bridge gateway did not start: %v", err)
		return ""
	}
}

type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func call(t *testing.T, method, url, token, key, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) expect(t *testing.T, status int, problemType string) answer {
	t.Helper()
	if a.status != status || (problemType != "" && a.body["type"] != problemType) {
		t.Fatalf("answered %d %s; want %d %s", a.status, a.raw, status, problemType)
	}
	return a
}

// The done-when: a unit signs for and gives both feedbacks on its own work order with its token; a retry is
// answered from the store and applied once; the events reach the unit's topic and the upstream topic; GET shows
// the submissions accepted, then delivered, then confirmed once the seeded upstream reflects them; and the unit
// topic still rebuilds the store (the notices change no row).
func TestGatewaySignAndFeedbackReachTheTopicsAndAreConfirmed(t *testing.T) {
	t.Parallel()
	g := newGatewayEnv(t)
	base := serveGateway(t, g.cfg)
	wo := base + "/v1/work-orders/GW-0001"
	sign := `{"personnel_id": "P-420106", "signed_at": "2026-12-01T09:30:00+08:00"}`
	first := call(t, "POST", wo+"/sign", g.unit, "sign-1", sign).expect(t, 202, "")
	var wg sync.WaitGroup
	retries := make([]answer, 4)
	for i := range retries {
		wg.Go(func() { retries[i] = call(t, "POST", wo+"/sign", g.unit, "sign-1", sign) })
	}
	wg.Wait()
	for _, r := range retries {
		if r.expect(t, 202, ""); r.raw != first.raw || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry answered %s (replayed %q), want the stored %s", r.raw, r.header.Get("Idempotent-Replayed"), first.raw)
		}
	}
	call(t, "POST", wo+"/initial-feedback", g.unit, "ifb-1",
		`{"handler_id": "P-420106", "result": "1", "content": "已受理", "feedback_at": "2026-12-01T10:00:00+08:00"}`).expect(t, 202, "")
	call(t, "POST", wo+"/final-feedback", g.hotline, "ffb-1",
		`{"handler_id": "P-420106", "result": "9", "recovered_amount": 120.5, "finished_at": "2026-12-02T10:00:00+08:00"}`).expect(t, 202, "")
	s := storeQuerier(t, g.bridgeEnv)
	if n := s.count(t, `SELECT count(*) FROM bridge.gateway_request WHERE registration_id = 'GR1'`); n != 3 {
		t.Fatalf("%d requests kept for GR1, want 3: the retries applied once", n)
	}
	assertStatuses(t, call(t, "GET", wo, g.unit, "", "").expect(t, 200, ""), "accepted", "accepted", "accepted")

	g.runUntilIdle(t) // the forwarder publishes the outbox
	requests := s.strings(t, `SELECT request_id FROM bridge.gateway_request WHERE registration_id = 'GR1' ORDER BY accepted_at`)
	for _, unit := range []string{"420106", events.UpstreamUnit} {
		got := gatewayEvents(t, g.bridgeEnv, unit)
		want := []string{"registration.signed", "initial_feedback.submitted", "final_feedback.submitted"}
		if len(got) != 3 {
			t.Fatalf("%s topic: %d gateway events, want 3: %v", unit, len(got), got)
		}
		for i, r := range got {
			if r.Headers[events.HeaderType] != want[i] || r.Headers[events.HeaderSubject] != requests[i] || r.Key != "GR1" {
				t.Errorf("%s topic event %d: type %s subject %s key %s; want %s, %s, GR1", unit, i,
					r.Headers[events.HeaderType], r.Headers[events.HeaderSubject], r.Key, want[i], requests[i])
			}
		}
	}
	view := call(t, "GET", wo, g.unit, "", "").expect(t, 200, "")
	assertStatuses(t, view, "delivered", "delivered", "delivered")
	if view.body["signed"] != true || view.body["unit_code"] != "420106" {
		t.Errorf("GET says signed %v in unit %v, want true in 420106", view.body["signed"], view.body["unit_code"])
	}
	assertTopicsRebuildTheStore(t, g.bridgeEnv)

	// The national platform takes them; the bridge captures its rows, and the confirmer sees them.
	g.exec(t, `UPDATE registration SET handler_id = 'P-420106', status = '30', update_time = now() WHERE id = 'GR1'`)
	g.exec(t, `INSERT INTO initial_feedback (id, update_time, registration_id, dept_id, handler_id, result, content, feedback_at)
		VALUES ('GIF1', now(), 'GR1', 'ORG-420106', 'P-420106', '1', '已受理', '2026-12-01T10:00:00+08:00')`)
	g.exec(t, `INSERT INTO final_feedback (id, update_time, registration_id, dept_id, handler_id, result, recovered_amount, finished_at)
		VALUES ('GFF1', now(), 'GR1', 'ORG-420106', 'P-420106', '9', 120.5, '2026-12-02T10:00:00+08:00')`)
	g.runUntilIdle(t)
	deadline := time.Now().Add(30 * time.Second)
	for view = call(t, "GET", wo, g.unit, "", ""); statusesOf(view) != "confirmed confirmed confirmed"; view = call(t, "GET", wo, g.unit, "", "") {
		if time.Now().After(deadline) {
			t.Fatalf("submissions %s after 30s, want all confirmed", statusesOf(view))
		}
		time.Sleep(50 * time.Millisecond) // polling the confirmer's outcome, not standing in for it
	}
	g.runUntilIdle(t) // the relay puts the confirmed hops on the audit topic, the subscriber keeps them
	view = call(t, "GET", wo, g.unit, "", "").expect(t, 200, "")
	hops := map[string]int{}
	for _, h := range view.body["journey"].([]any) {
		if hop := h.(map[string]any); hop["table"] == events.GatewayTable {
			hops[hop["hop"].(string)]++
		}
	}
	if hops["accepted"] != 3 || hops["published"] != 6 || hops["confirmed"] != 3 {
		t.Errorf("the journey's gateway hops %v, want 3 accepted, 6 published (unit and upstream), 3 confirmed", hops)
	}
}

func statusesOf(a answer) string {
	var out []string
	subs, _ := a.body["submissions"].([]any)
	for _, s := range subs {
		out = append(out, s.(map[string]any)["status"].(string))
	}
	return strings.Join(out, " ")
}

func assertStatuses(t *testing.T, a answer, want ...string) {
	t.Helper()
	if got := statusesOf(a); got != strings.Join(want, " ") {
		t.Fatalf("submissions %q, want %q: %s", got, strings.Join(want, " "), a.raw)
	}
}

// gatewayEvents reads a unit's (or the upstream) topic and keeps the gateway's events, in offset order within the
// work order's partition.
func gatewayEvents(t *testing.T, e *bridgeEnv, unit string) []kafka.Record {
	t.Helper()
	var out []kafka.Record
	topic := events.UnitTopic(e.cfg.TopicPrefix, unit)
	err := kafka.ReadTopic(context.Background(), e.cfg.KafkaBrokers, topic, true, false, func(r kafka.Record) error {
		if _, change, _ := strings.Cut(r.Headers[events.HeaderType], "."); change == events.EventSigned || change == events.EventSubmitted {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", topic, err)
	}
	return out
}

// A unit acts on its own work orders only: another unit's is refused naming where it is, one transferred away
// is refused the same way, one forwarded out of Wuhan is refused for every caller, and nothing refused is kept.
func TestGatewayRefusesAnotherUnitsAndMovedWorkOrders(t *testing.T) {
	t.Parallel()
	g := newGatewayEnv(t)
	base := serveGateway(t, g.cfg)
	sign := `{"personnel_id": "P-420106"}`
	a := call(t, "POST", base+"/v1/work-orders/GW-0002/sign", g.unit, "x-1", sign).expect(t, 403, "/problems/work-order-of-another-unit")
	if !strings.Contains(a.body["detail"].(string), "420102") {
		t.Errorf("detail %q does not say where the work order is", a.body["detail"])
	}
	call(t, "GET", base+"/v1/work-orders/GW-0002", g.unit, "", "").expect(t, 403, "/problems/work-order-of-another-unit")
	call(t, "POST", base+"/v1/work-orders/GW-0003/sign", g.unit, "x-2", sign).expect(t, 202, "")

	g.exec(t, `UPDATE registration SET handle_dept_id = 'ORG-420102', update_time = now() WHERE id = 'GR3'`)
	g.runUntilIdle(t)
	call(t, "POST", base+"/v1/work-orders/GW-0003/initial-feedback", g.unit, "x-3", `{"handler_id": "P-420106", "result": "1"}`).
		expect(t, 403, "/problems/work-order-of-another-unit")
	// In its new unit it is not signed for yet, and the new unit's clerk may do it.
	call(t, "POST", base+"/v1/work-orders/GW-0003/sign", g.other, "x-4", `{"personnel_id": "P-420102"}`).expect(t, 202, "")

	g.exec(t, `UPDATE registration SET handle_dept_id = 'ORG-420200', update_time = now() WHERE id = 'GR3'`)
	g.runUntilIdle(t)
	for _, token := range []string{g.other, g.hotline} {
		call(t, "POST", base+"/v1/work-orders/GW-0003/sign", token, "x-5", `{"personnel_id": "P-420102"}`).expect(t, 409, "/problems/work-order-left-wuhan")
	}
	call(t, "GET", base+"/v1/work-orders/GW-0003", g.hotline, "", "").expect(t, 409, "/problems/work-order-left-wuhan")
	s := storeQuerier(t, g.bridgeEnv)
	if got := s.strings(t, `SELECT caller || ' ' || unit_code FROM bridge.gateway_request ORDER BY accepted_at`); strings.Join(got, ",") != "420106 420106,420102 420102" {
		t.Errorf("kept requests %v, want only the two accepted sign-fors", got)
	}
}

// A request racing a transfer of its work order: the transfer (here the sorter's lock and its store write,
// taken by the test) holds the work order; the request waits for it, then sees the new unit and is refused.
func TestGatewayRequestRacingATransferSeesTheNewUnit(t *testing.T) {
	t.Parallel()
	g := newGatewayEnv(t)
	base := serveGateway(t, g.cfg)
	s := storeQuerier(t, g.bridgeEnv)
	ctx := context.Background()
	tx, err := s.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('registration:GR4', 0))`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE wuhan.registration SET unit_code = '420102' WHERE id = 'GR4'`); err != nil {
		t.Fatal(err)
	}
	answered := make(chan answer, 1)
	go func() {
		answered <- call(t, "POST", base+"/v1/work-orders/GW-0004/sign", g.unit, "race-1", `{"personnel_id": "P-420106"}`)
	}()
	waitForAdvisoryWaiter(t, s)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	(<-answered).expect(t, 403, "/problems/work-order-of-another-unit")
	if n := s.count(t, `SELECT count(*) FROM bridge.gateway_request WHERE registration_id = 'GR4'`); n != 0 {
		t.Errorf("%d requests kept for the transferred work order, want 0", n)
	}
}

// waitForAdvisoryWaiter returns once a session waits for an advisory lock: the gateway's request is inside its
// transaction, blocked on the work order.
func waitForAdvisoryWaiter(t *testing.T, s storeDB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.count(t, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no request waited for the work order's lock within 30s")
		}
		time.Sleep(20 * time.Millisecond) // polling for the condition
	}
}

// The store goes away while a request is inside its transaction: the caller gets a clear 503, nothing of the
// request is in the store, and the same request sent again once the store is back is kept exactly once.
func TestGatewayStoreDownMidRequestAnswers503AndKeepsNothing(t *testing.T) {
	t.Parallel()
	g := newGatewayEnv(t)
	proxy := testenv.NewProxy(t, hostPort(t, g.cfg.StoreURL))
	cfg := g.cfg
	cfg.StoreURL = strings.Replace(cfg.StoreURL, hostPort(t, cfg.StoreURL), proxy.Addr(), 1)
	base := serveGateway(t, cfg)
	s := storeQuerier(t, g.bridgeEnv) // directly, not through the proxy
	ctx := context.Background()
	tx, err := s.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('registration:GR5', 0))`); err != nil {
		t.Fatal(err)
	}
	body := `{"handler_id": "P-420106", "result": "1", "content": "联系人 13900001111"}`
	answered := make(chan answer, 1)
	go func() {
		answered <- call(t, "POST", base+"/v1/work-orders/GW-0005/initial-feedback", g.unit, "down-1", body)
	}()
	waitForAdvisoryWaiter(t, s)
	proxy.Cut()
	a := (<-answered).expect(t, 503, "/problems/store-unavailable")
	if strings.Contains(a.raw, "13900001111") || strings.Contains(a.raw, "SELECT") {
		t.Errorf("the 503 repeats the body or speaks SQL: %s", a.raw)
	}
	_ = tx.Rollback(ctx)
	for _, q := range []string{
		`SELECT count(*) FROM bridge.gateway_request WHERE registration_id = 'GR5'`,
		`SELECT count(*) FROM bridge.outbox WHERE table_name = 'gateway_request' AND record_key = 'GR5'`,
		`SELECT count(*) FROM bridge.audit_outbox WHERE hops::text LIKE '%GR5%'`,
	} {
		if n := s.count(t, q); n != 0 {
			t.Errorf("%s: %d, want nothing half-written", q, n)
		}
	}
	proxy.Restore()
	// The caller sends it again, as the 503 says; the pool's connections the cut broke answer 503 once each.
	deadline := time.Now().Add(30 * time.Second)
	for a = call(t, "POST", base+"/v1/work-orders/GW-0005/initial-feedback", g.unit, "down-1", body); a.status == 503; a = call(t, "POST", base+"/v1/work-orders/GW-0005/initial-feedback", g.unit, "down-1", body) {
		if time.Now().After(deadline) {
			t.Fatalf("still 503 30s after the store came back: %s", a.raw)
		}
	}
	a.expect(t, 202, "")
	if n := s.count(t, `SELECT count(*) FROM bridge.outbox WHERE table_name = 'gateway_request' AND record_key = 'GR5'`); n != 2 {
		t.Errorf("%d events after the retry, want 2 (unit and upstream)", n)
	}
}

// bridge run with gateway_enabled serves the gateway beside the flow: a sign-for is published by the running
// forwarder and shows as delivered without anything else being run.
func TestBridgeRunServesTheGatewayWhenEnabled(t *testing.T) {
	t.Parallel()
	g := newGatewayEnv(t)
	port, err := localproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	g.cfg.GatewayEnabled, g.cfg.GatewayAddr = true, fmt.Sprintf("127.0.0.1:%d", port)
	g.runInBackground(t)
	base := "http://" + g.cfg.GatewayAddr
	deadline := time.Now().Add(time.Minute)
	for !healthy(base) {
		if time.Now().After(deadline) {
			t.Fatal("bridge run did not serve the gateway within a minute")
		}
		time.Sleep(50 * time.Millisecond) // polling for the condition
	}
	wo := base + "/v1/work-orders/GW-0001"
	call(t, "POST", wo+"/sign", g.hotline, "run-1", `{"personnel_id": "P-420106"}`).expect(t, 202, "")
	for view := call(t, "GET", wo, g.unit, "", ""); statusesOf(view) != "delivered"; view = call(t, "GET", wo, g.unit, "", "") {
		if time.Now().After(deadline) {
			t.Fatalf("submissions %q, want the sign-for delivered by the running forwarder", statusesOf(view))
		}
		time.Sleep(50 * time.Millisecond) // polling for the condition
	}
}

func healthy(base string) bool {
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Graceful shutdown: a request in flight when the gateway is told to stop (SIGTERM) is finished and kept, and
// only then does bridge gateway return; new connections are refused meanwhile.
func TestGatewayShutdownFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	g := newGatewayEnv(t)
	cfg := g.cfg
	cfg.GatewayAddr = "127.0.0.1:0"
	addrs, done := make(chan string, 1), make(chan error, 1)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		done <- pipeline.ServeGateway(ctx, cfg, quietLogger(), pipeline.GatewayHooks{Listening: func(a string) { addrs <- a }})
	}()
	base := "http://" + <-addrs
	s := storeQuerier(t, g.bridgeEnv)
	tx, err := s.db.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(context.Background(), `SELECT pg_advisory_xact_lock(hashtextextended('registration:GR1', 0))`); err != nil {
		t.Fatal(err)
	}
	answered := make(chan answer, 1)
	go func() {
		answered <- call(t, "POST", base+"/v1/work-orders/GW-0001/sign", g.unit, "stop-1", `{"personnel_id": "P-420106"}`)
	}()
	waitForAdvisoryWaiter(t, s)
	stop()
	deadline := time.Now().Add(30 * time.Second)
	for healthy(base) { // the listener closes at once; the request in flight goes on
		if time.Now().After(deadline) {
			t.Fatal("the gateway still accepts requests 30s after it was told to stop")
		}
		time.Sleep(20 * time.Millisecond) // polling for the condition
	}
	select {
	case err := <-done:
		t.Fatalf("bridge gateway returned (%v) with a request in flight", err)
	default:
	}
	if err := tx.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	(<-answered).expect(t, 202, "")
	if err := <-done; err != nil {
		t.Fatalf("bridge gateway: %v", err)
	}
	if n := s.count(t, `SELECT count(*) FROM bridge.gateway_request WHERE registration_id = 'GR1'`); n != 1 {
		t.Errorf("%d requests kept, want the one in flight", n)
	}
}
