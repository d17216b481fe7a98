package sort

import (
	"reflect"
	"testing"

	"hotline-bridge/events"
)

// The quick read of the deciding columns must see exactly what the full decode sees, or a row would be decided
// differently depending on which path read it.
func TestDecidingColumnsReadAsTheFullDecodeReadsThem(t *testing.T) {
	payloads := map[string]string{
		"R1": `{"id": "R1", "kind": 1, "is_deleted": false, "handle_dept_id": "ORG-420106", "division_code": null}`,
		"R2": `{"id": "R2", "is_deleted": true, "handle_dept_id": null, "division_code": "420106", "status": "已办结"}`,
		"R3": `{"id": "R3", "handle_dept_id": 420106, "division_code": "420102", "extra": {"nested": [1, 2]}}`,
		"R4": `{"id": "R\u0034", "handle_dept_id": "ORG-\"quoted\""}`,
	}
	kind, _ := events.KindByTable(events.Registration)
	for id, p := range payloads {
		v := events.RowVersion{Table: events.Registration, ID: id, Payload: []byte(p)}
		full, err := decodeFull(v)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		quick, ok := decodeDeciding(kind, v)
		if !ok {
			t.Fatalf("%s: the quick read gave up on an ordinary row", p)
		}
		for col := range decidingColumns(kind) {
			if got, want := quick[col], full[col]; !reflect.DeepEqual(got, want) {
				t.Errorf("%s: column %s read as %#v, the full decode says %#v", p, col, got, want)
			}
		}
	}
}
