package gateway_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"hotline-bridge/handlers/gateway"
	"hotline-bridge/schemas"
)

// postOp is one POST operation with a body that the fake store accepts for N1 in unit 420106.
type postOp struct {
	id, suffix, body string
}

var postOps = []postOp{
	{"signWorkOrder", "sign", `{"personnel_id": "P1", "signed_at": "2026-12-01T09:30:00+08:00"}`},
	{"submitInitialFeedback", "initial-feedback", `{"handler_id": "P1", "result": "1", "content": "已受理，联系商家"}`},
	{"submitFinalFeedback", "final-feedback", `{"handler_id": "P1", "result": "9", "recovered_amount": 1299.5, "finished_at": "2026-12-03T10:00:00Z"}`},
}

type statusCase struct {
	name   string
	req    req
	status int
	typ    string // the problem type, for a problem
}

// TestContractEveryDocumentedStatusIsReached drives the gateway through every (operation, status) pair the
// OpenAPI document lists, checks each response against the document and each problem's stable type, and fails on
// a documented pair no case reached: the document and the server cannot drift apart unnoticed.
func TestContractEveryDocumentedStatusIsReached(t *testing.T) {
	store := newFakeStore()
	h := newHarness(t, store, gateway.Config{MaxBody: 1024, Rate: 1e6, Burst: 1e6})
	// tight's callers get one request each: a new one for each operation.
	tight := func() *harness {
		th := newHarness(t, store, gateway.Config{Rate: 0.001, Burst: 1})
		th.reached = h.reached
		return th
	}
	unit, other, hotline := store.token("420106"), store.token("420102"), store.token("12345")

	for _, op := range postOps {
		path := func(regNo string) string { return "/v1/work-orders/" + regNo + "/" + op.suffix }
		post := func(regNo, token, key, body string) req {
			return req{method: http.MethodPost, path: path(regNo), token: token, key: key, body: body}
		}
		other422 := `{"handler_id": "P2", "result": "1"}`
		if op.id == "signWorkOrder" {
			other422 = `{"personnel_id": "P2"}`
		}
		cases := []statusCase{
			{"accepted", post("N1", unit, op.id+"-1", op.body), 202, ""},
			{"the same key and body again: the stored response", post("N1", unit, op.id+"-1", op.body), 202, ""},
			{"the hotline acting for the unit", post("N2", hotline, op.id+"-h", strings.ReplaceAll(op.body, "P1", "P2")), 202, ""},
			{"a body that does not fit the schema", post("N1", unit, op.id+"-2", `{"personnel_id": 5, "result": []}`), 400, "/problems/malformed-request"},
			{"an unknown field", post("N1", unit, op.id+"-2b", strings.Replace(op.body, "{", `{"phone": "13812345678", `, 1)), 400, "/problems/malformed-request"},
			{"no Idempotency-Key", post("N1", unit, "", op.body), 400, "/problems/idempotency-key-missing"},
			{"a reg_no outside the pattern", post("N!1", unit, op.id+"-3", op.body), 400, "/problems/malformed-request"},
			{"no token", post("N1", "", op.id+"-4", op.body), 401, "/problems/unauthenticated"},
			{"an unknown token", post("N1", "hbg_not-a-token", op.id+"-4", op.body), 401, "/problems/unauthenticated"},
			{"another unit's work order", post("N2", unit, op.id+"-5", op.body), 403, "/problems/work-order-of-another-unit"},
			{"an unknown work order", post("N404", unit, op.id+"-6", op.body), 404, "/problems/work-order-not-found"},
			{"a work order forwarded out of Wuhan", post("GONE1", hotline, op.id+"-7", op.body), 409, "/problems/work-order-left-wuhan"},
			{"a body over the limit", post("N1", unit, op.id+"-8", strings.Replace(op.body, "{", "{"+strings.Repeat(" ", 2048), 1)), 413, "/problems/body-too-large"},
			{"not JSON", req{method: http.MethodPost, path: path("N1"), token: unit, key: op.id + "-9", contentType: "text/plain", body: op.body}, 415, "/problems/unsupported-media-type"},
			{"the same key with another body", post("N1", unit, op.id+"-1", strings.Replace(op.body, `"P1"`, `"P3"`, 1)), 422, "/problems/idempotency-key-reused"},
			{"a clerk of another unit", post("N1", unit, op.id+"-10", other422), 422, "/problems/invalid-value"},
		}
		if op.id == "signWorkOrder" {
			cases = append(cases, statusCase{"signed for twice", post("N1", unit, op.id+"-11", op.body), 409, "/problems/already-signed"})
		} else {
			cases = append(cases, statusCase{"a result not in the dictionary", post("N1", unit, op.id+"-11", strings.Replace(op.body, `"result": "`, `"result": "7`, 1)), 422, "/problems/invalid-value"})
		}
		for _, c := range cases {
			t.Run(op.id+"/"+c.name, func(t *testing.T) { expect(t, h, c) })
		}
		limited, tight := store.token("420106"), tight()
		expect(t, tight, statusCase{"first request within the burst", post("N3", limited, op.id+"-r1", op.body), 202, ""})
		expect(t, tight, statusCase{"second request over the rate", post("N3", limited, op.id+"-r2", op.body), 429, "/problems/rate-limited"})
		store.setDown(true)
		expect(t, h, statusCase{"store down", post("N1", unit, op.id+"-12", op.body), 503, "/problems/store-unavailable"})
		store.setDown(false)
	}

	get := func(regNo, token string) req {
		return req{method: http.MethodGet, path: "/v1/work-orders/" + regNo, token: token}
	}
	limited, getTight := store.token("420106"), tight()
	for _, c := range []statusCase{
		{"the unit's work order", get("N1", unit), 200, ""},
		{"a reg_no outside the pattern", get("N!1", unit), 400, "/problems/malformed-request"},
		{"no token", get("N1", ""), 401, "/problems/unauthenticated"},
		{"another unit's work order", get("N1", other), 403, "/problems/work-order-of-another-unit"},
		{"an unknown work order", get("N404", unit), 404, "/problems/work-order-not-found"},
		{"forwarded out of Wuhan", get("GONE1", hotline), 409, "/problems/work-order-left-wuhan"},
		{"healthz", req{method: http.MethodGet, path: "/healthz"}, 200, ""},
		{"the document", req{method: http.MethodGet, path: "/openapi.json"}, 200, ""},
		{"no such path", req{method: http.MethodGet, path: "/v1/nothing"}, 404, "/problems/not-found"},
		{"no such method", req{method: http.MethodDelete, path: "/v1/work-orders/N1", token: unit}, 405, "/problems/method-not-allowed"},
	} {
		t.Run("get/"+c.name, func(t *testing.T) { expect(t, h, c) })
	}
	expect(t, getTight, statusCase{"get within the burst", get("N1", limited), 200, ""})
	expect(t, getTight, statusCase{"get over the rate", get("N1", limited), 429, "/problems/rate-limited"})
	store.setDown(true)
	expect(t, h, statusCase{"get, store down", get("N1", unit), 503, "/problems/store-unavailable"})
	expect(t, h, statusCase{"healthz, store down", req{method: http.MethodGet, path: "/healthz"}, 503, "/problems/store-unavailable"})
	store.setDown(false)

	for _, pair := range documented(h.doc) {
		if !h.reached[pair] {
			t.Errorf("documented response %s was never reached", pair)
		}
	}
}

func expect(t *testing.T, h *harness, c statusCase) {
	t.Helper()
	rec := h.do(c.req)
	if rec.Code != c.status {
		t.Fatalf("%s: status %d, want %d: %s", c.name, rec.Code, c.status, rec.Body)
	}
	if c.typ == "" {
		return
	}
	var p gateway.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Type != c.typ || p.Status != c.status || p.Detail == "" {
		t.Fatalf("%s: problem %+v (%v), want type %s with status %d and a detail", c.name, p, err, c.typ, c.status)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", c.name, ct)
	}
	if strings.Contains(rec.Body.String(), "13812345678") {
		t.Errorf("%s: the problem repeats a value the caller sent: %s", c.name, rec.Body)
	}
}

// TestReplayReturnsTheStoredResponseAndKeepsOnce: a retried request is applied once, answered with the first
// response byte for byte, and its two events (unit topic, upstream topic) fit the published JSON Schemas.
func TestReplayReturnsTheStoredResponseAndKeepsOnce(t *testing.T) {
	store := newFakeStore()
	h := newHarness(t, store, gateway.Config{})
	token := store.token("420106")
	r := req{method: http.MethodPost, path: "/v1/work-orders/N1/initial-feedback", token: token, key: "k-1",
		body: `{"handler_id": "P1", "result": "1", "content": "张三 13812345678 已联系"}`}
	first, again := h.do(r), h.do(r)
	if first.Code != 202 || again.Code != 202 || first.Body.String() != again.Body.String() {
		t.Fatalf("first %d %s, again %d %s: want the same 202 twice", first.Code, first.Body, again.Code, again.Body)
	}
	if first.Header().Get("Idempotent-Replayed") != "" || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("Idempotent-Replayed: first %q, again %q; want none, then true", first.Header().Get("Idempotent-Replayed"), again.Header().Get("Idempotent-Replayed"))
	}
	if n := store.keptCount(); n != 1 || len(store.outbox) != 2 || len(store.hops) != 1 {
		t.Fatalf("kept %d requests, %d events, %d hops; want 1, 2 (unit and upstream), 1", n, len(store.outbox), len(store.hops))
	}
	var body map[string]any
	_ = json.Unmarshal(first.Body.Bytes(), &body)
	compiled := eventSchemas(t)
	for i, unit := range []string{"420106", "upstream"} {
		d := store.outbox[i]
		if d.Unit != unit || d.Type != "initial_feedback.submitted" || d.Key != "R1" || d.RowID != body["request_id"] {
			t.Errorf("event %d: %+v; want unit %s, initial_feedback.submitted, key R1, row %v", i, d, unit, body["request_id"])
		}
		v, err := jsonUnmarshal(d.Payload)
		if err == nil {
			err = compiled[schemas.GatewayEventSchema(d.Type)].Validate(v)
		}
		if err != nil {
			t.Errorf("event %d payload does not fit its schema: %v\n%s", i, err, d.Payload)
		}
	}
	if store.outbox[0].EventID == store.outbox[1].EventID {
		t.Errorf("the unit's and the upstream's events share ce_id %s", store.outbox[0].EventID)
	}
	var p map[string]any
	_ = json.Unmarshal(store.outbox[0].Payload, &p)
	if p["dept_id"] != "ORG-420106" || p["result"] != "1" || p["feedback_at"] == nil || p["caller"] != "420106" {
		t.Errorf("payload %v: want dept_id defaulted to the work order's handling department, result 1, a feedback_at, caller 420106", p)
	}
}

func jsonUnmarshal(b []byte) (any, error) {
	var v any
	err := json.Unmarshal(b, &v)
	return v, err
}

// TestServedDocumentIsTheContract: /openapi.json is the embedded document, OpenAPI 3.1, with the same operations.
func TestServedDocumentIsTheContract(t *testing.T) {
	h := newHarness(t, newFakeStore(), gateway.Config{})
	rec := h.do(req{method: http.MethodGet, path: "/openapi.json"})
	var served struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &served); err != nil || served.OpenAPI != "3.1.0" {
		t.Fatalf("served %q (%v), want OpenAPI 3.1.0", served.OpenAPI, err)
	}
	var got []string
	for path, ops := range served.Paths {
		for method, op := range ops {
			got = append(got, strings.ToUpper(method)+" "+path+" "+op["operationId"].(string))
		}
	}
	slices.Sort(got)
	want := []string{
		"GET /healthz healthz", "GET /openapi.json openapi", "GET /v1/work-orders/{reg_no} getWorkOrder",
		"POST /v1/work-orders/{reg_no}/final-feedback submitFinalFeedback",
		"POST /v1/work-orders/{reg_no}/initial-feedback submitInitialFeedback",
		"POST /v1/work-orders/{reg_no}/sign signWorkOrder",
	}
	if !slices.Equal(got, want) {
		t.Errorf("served operations %v, want %v", got, want)
	}
}
