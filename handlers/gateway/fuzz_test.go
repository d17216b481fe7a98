package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hotline-bridge/handlers/gateway"
	"hotline-bridge/schemas"
)

// personalMarker is a mobile number the seeds put in every field; no answer but an accepted one may repeat it.
const personalMarker = "13812345678"

// FuzzSubmit sends arbitrary bodies and registration numbers to the three POST operations. Whatever arrives, the
// gateway answers with a status the document lists for the operation (or the router's 404/405), in a shape that
// fits the document, never with a 500; a refusal never repeats what was sent nor speaks SQL; an accepted request
// is kept once with events that fit their published schemas. `go test` runs the seeds; `go test -fuzz
// FuzzSubmit ./handlers/gateway/` searches further.
func FuzzSubmit(f *testing.F) {
	for i, op := range postOps {
		f.Add(uint8(i), "N1", op.body)
		f.Add(uint8(i), "N1", strings.ReplaceAll(op.body, "P1", personalMarker))
		f.Add(uint8(i), "N2", op.body)
		f.Add(uint8(i), "N1/../N2", op.body)
		f.Add(uint8(i), "N1%2F..%2FN2", op.body)
		f.Add(uint8(i), "武汉-0001", op.body)
		f.Add(uint8(i), "N1", `{"content": "`+personalMarker+` 张三 湖北省武汉市", "handler_id": "P1", "result": "1"}`)
		f.Add(uint8(i), "N1", `{"handler_id": "P1", "result": "9", "recovered_amount": 0.001}`)
		f.Add(uint8(i), "N1", `{"handler_id": "P1", "result": "9", "recovered_amount": -1e400}`)
		f.Add(uint8(i), "N1", `{"personnel_id": "P1"}{"personnel_id": "P1"}`)
		f.Add(uint8(i), "N1", `{"personnel_id": "P1", "signed_at": "yesterday `+personalMarker+`"}`)
		f.Add(uint8(i), "N1", `{"handler_id": "P1", "result": "1", "content": "a\u0000b"}`)
		f.Add(uint8(i), "N1", `[]`)
		f.Add(uint8(i), "N1", "")
		f.Add(uint8(i), strings.Repeat("9", 41), op.body)
	}
	store := newFakeStore()
	h := newHarness(f, store, gateway.Config{Rate: 1e9, Burst: 1 << 30})
	token := store.token("420106")
	compiled := eventSchemas(f)
	keys := 0
	f.Fuzz(func(t *testing.T, opIndex uint8, regNo, body string) {
		op := postOps[int(opIndex)%len(postOps)]
		keys++
		before := store.keptCount()
		r := req{method: http.MethodPost, path: "/v1/work-orders/" + url.PathEscape(regNo) + "/" + op.suffix,
			token: token, key: "fuzz-" + itoa(keys), body: body}
		rec, err := h.serve(r)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", op.id, body, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusAccepted {
			assertRefusalSaysNothingSent(t, rec.Body.String(), body)
			if store.keptCount() != before {
				t.Fatalf("refused with %d, yet a request was kept", rec.Code)
			}
			return
		}
		if store.keptCount() != before+1 {
			t.Fatalf("accepted, but %d requests kept, want %d", store.keptCount(), before+1)
		}
		k := store.kept[len(store.kept)-1]
		v, err := jsonUnmarshal(k.Payload)
		if err == nil {
			err = compiled[schemas.GatewayEventSchema(k.Action.EventType())].Validate(v)
		}
		if err != nil {
			t.Fatalf("accepted %q into a payload that does not fit its schema: %v\n%s", body, err, k.Payload)
		}
	})
}

func assertRefusalSaysNothingSent(t *testing.T, answer, body string) {
	t.Helper()
	if strings.Contains(body, personalMarker) && strings.Contains(answer, personalMarker) {
		t.Fatalf("the refusal repeats a value sent: %s", answer)
	}
	for _, word := range []string{"SELECT", "INSERT", "SQLSTATE", "pgx"} {
		if strings.Contains(answer, word) {
			t.Fatalf("the refusal speaks SQL: %s", answer)
		}
	}
	var p gateway.Problem
	if err := json.Unmarshal([]byte(answer), &p); err != nil || !strings.HasPrefix(p.Type, "/problems/") {
		t.Fatalf("the refusal is not a problem: %s", answer)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
