package schemas_test

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"hotline-bridge/events"
	"hotline-bridge/schemas"
)

// compilePayloadSchemas compiles every embedded payload schema, checking each against the 2020-12 metaschema and
// asserting formats (date-time), as a strict consumer would.
func compilePayloadSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	files, err := fs.Glob(schemas.Payloads, "payloads/*.json")
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, name := range files {
		f, err := schemas.Payloads.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.AddResource(name, doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, name := range files {
		sch, err := c.Compile(name)
		if err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
		out[name] = sch
	}
	return out
}

func TestEveryEventTypeHasAPayloadSchema(t *testing.T) {
	compiled := compilePayloadSchemas(t)
	want := 1 // removed
	for _, k := range events.Catalogue {
		for _, change := range []string{events.EventUpserted, events.EventDeleted, events.EventRemoved} {
			if _, ok := compiled[schemas.PayloadSchema(k.Table+"."+change)]; !ok {
				t.Errorf("no payload schema for %s.%s", k.Table, change)
			}
		}
		want++
	}
	if len(compiled) != want {
		t.Errorf("%d payload schemas, want one per kind plus removed: %d", len(compiled), want)
	}
}

// TestPayloadSchemasListEveryUpstreamColumn guards against drift: each kind's schema describes exactly the columns
// of the reference upstream table.
func TestPayloadSchemasListEveryUpstreamColumn(t *testing.T) {
	ddl, err := fs.ReadFile(schemas.Upstream, "upstream/001_reference_upstream.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range events.Catalogue {
		doc := readSchema(t, schemas.PayloadSchema(k.Table+"."+events.EventUpserted))
		props := doc["properties"].(map[string]any)
		got := make([]string, 0, len(props))
		for col := range props {
			got = append(got, col)
		}
		slices.Sort(got)
		if want := upstreamColumns(t, string(ddl), k.Table); !slices.Equal(got, want) {
			t.Errorf("%s: schema properties %v, upstream columns %v", k.Table, got, want)
		}
	}
}

func readSchema(t *testing.T, name string) map[string]any {
	t.Helper()
	f, err := schemas.Payloads.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	return doc.(map[string]any)
}

func upstreamColumns(t *testing.T, ddl, table string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)CREATE TABLE IF NOT EXISTS ` + table + ` \((.*?)\n\);`).FindStringSubmatch(ddl)
	if m == nil {
		t.Fatalf("table %s not in the reference upstream", table)
	}
	var cols []string
	for _, line := range strings.Split(strings.TrimSpace(m[1]), "\n") {
		cols = append(cols, strings.Fields(line)[0])
	}
	slices.Sort(cols)
	return cols
}

func TestPayloadSchemasAcceptAndRejectExamples(t *testing.T) {
	compiled := compilePayloadSchemas(t)
	cases := []struct {
		name, eventType, payload string
		valid                    bool
	}{
		{"registration as PostgreSQL renders it", "registration.upserted",
			`{"id": "R1", "update_time": "2025-03-01T00:30:00.123456+00:00", "is_deleted": false, "reg_no": "12315-2025-0001",
			  "kind": 2, "registrar_id": null, "status": "handling", "handle_dept_id": "ORG-420106", "handler_id": null,
			  "division_code": "420106", "summary": "预付卡退费纠纷", "registered_at": "2025-02-28T09:00:00+00:00"}`, true},
		{"a column upstream added later", "registration.upserted",
			`{"id": "R1", "update_time": "2025-03-01T00:30:00Z", "is_deleted": false, "channel": "app"}`, true},
		{"soft-deleted object with an amount", "object.deleted",
			`{"id": "O1", "update_time": "2025-03-01T00:30:00Z", "is_deleted": true, "amount": 1299.50, "brand": null}`, true},
		{"info provider with personal columns null", "info_provider.upserted",
			`{"id": "I1", "update_time": "2025-03-01T00:30:00Z", "is_deleted": false, "name": null, "phone": null}`, true},
		{"removal", "case_info.removed", `{"id": "C1", "unit_code": "420102"}`, true},
		{"update_time missing", "registration.upserted", `{"id": "R1", "is_deleted": false}`, false},
		{"update_time not a date-time", "supervision.upserted",
			`{"id": "S1", "update_time": "yesterday", "is_deleted": false}`, false},
		{"deadline not a date-time", "supervision.upserted",
			`{"id": "S1", "update_time": "2025-03-01T00:30:00Z", "is_deleted": false, "deadline": "2025-03-08"}`, false},
		{"kind as text", "registration.upserted",
			`{"id": "R1", "update_time": "2025-03-01T00:30:00Z", "is_deleted": false, "kind": "2"}`, false},
		{"amount as text", "object.upserted",
			`{"id": "O1", "update_time": "2025-03-01T00:30:00Z", "is_deleted": false, "amount": "1299.50"}`, false},
		{"is_deleted as text", "personnel.upserted",
			`{"id": "P1", "update_time": "2025-03-01T00:30:00Z", "is_deleted": "false"}`, false},
		{"empty id", "dictionary.upserted", `{"id": "", "update_time": "2025-03-01T00:30:00Z", "is_deleted": false}`, false},
		{"removal without its unit", "subject.removed", `{"id": "S1"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			err = compiled[schemas.PayloadSchema(tc.eventType)].Validate(inst)
			if tc.valid && err != nil {
				t.Fatalf("valid %s payload rejected: %v", tc.eventType, err)
			}
			if !tc.valid && err == nil {
				t.Fatalf("invalid %s payload accepted", tc.eventType)
			}
		})
	}
}
