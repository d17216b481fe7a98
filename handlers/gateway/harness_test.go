package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"hotline-bridge/handlers/gateway"
	"hotline-bridge/schemas"
)

// harness serves the gateway over a fake store and checks every response against the OpenAPI document,
// counting which documented (operation, status) pairs the test reached.
type harness struct {
	t      testing.TB
	doc    *openapi3.T
	router routers.Router
	store  *fakeStore
	srv    *gateway.Server

	mu      sync.Mutex
	reached map[string]bool
}

func newHarness(t testing.TB, store *fakeStore, cfg gateway.Config) *harness {
	t.Helper()
	doc, err := gateway.LoadDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	routed := *doc
	routed.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(&routed)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Hotline == "" {
		cfg.Hotline = "12345"
	}
	srv, err := gateway.NewServer(cfg, doc, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, doc: doc, router: router, store: store, srv: srv, reached: map[string]bool{}}
}

// req is one request to send.
type req struct {
	method, path string
	token, key   string
	contentType  string // default application/json on POST
	body         string
}

// do sends r and checks the response against the document: its status must be documented for the operation,
// and its headers and body must fit.
func (h *harness) do(r req) *httptest.ResponseRecorder {
	h.t.Helper()
	rec, err := h.serve(r)
	if err != nil {
		h.t.Error(err)
	}
	return rec
}

// serve is do reporting a misfit instead of failing the harness's test (a fuzz target has its own).
func (h *harness) serve(r req) (*httptest.ResponseRecorder, error) {
	hr := httptest.NewRequest(r.method, "http://gateway.test"+r.path, strings.NewReader(r.body))
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.key != "" {
		hr.Header.Set("Idempotency-Key", r.key)
	}
	if r.method == http.MethodPost {
		hr.Header.Set("Content-Type", cmpOr(r.contentType, "application/json"))
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, hr)
	return rec, h.check(r, rec)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (h *harness) check(r req, rec *httptest.ResponseRecorder) error {
	probe := httptest.NewRequest(r.method, "http://gateway.test"+r.path, nil)
	route, params, err := h.router.FindRoute(probe)
	if err != nil {
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			return fmt.Errorf("%s %s is no operation of the document, yet answered %d", r.method, r.path, rec.Code)
		}
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route},
		Status:                 rec.Code, Header: rec.Header(), Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s answered %d, which does not fit the document: %v\n%s", r.method, r.path, rec.Code, err, rec.Body)
	}
	h.mu.Lock()
	h.reached[fmt.Sprintf("%s %d", route.Operation.OperationID, rec.Code)] = true
	h.mu.Unlock()
	return nil
}

// documented is every (operation, status) pair of the document.
func documented(doc *openapi3.T) []string {
	var out []string
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(path).Operations() {
			for status := range op.Responses.Map() {
				out = append(out, op.OperationID+" "+status)
			}
		}
	}
	sort.Strings(out)
	return out
}

// eventSchemas compiles the gateway's event payload schemas, asserting formats as a strict consumer would.
func eventSchemas(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	files, err := fs.Glob(schemas.Gateway, "gateway/*.schema.json")
	if err != nil || len(files) != 3 {
		t.Fatalf("want the 3 gateway event schemas, got %v (%v)", files, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	for _, name := range files {
		data, _ := fs.ReadFile(schemas.Gateway, name)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.AddResource(name, doc); err != nil {
			t.Fatal(err)
		}
		if out[name], err = c.Compile(name); err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
	}
	return out
}
