package district

import (
	"encoding/json"
	"fmt"
	"strings"

	"hotline-bridge/events"
)

// State is a unit's rows by table and id, as a district system that follows our contract holds them.
type State map[string]map[string]json.RawMessage

// Apply folds one event in: upserted and deleted replace the row (a soft-deleted row stays, flagged), removed
// drops it. Re-applying an event already applied changes nothing, which is what makes at-least-once safe.
func (s State) Apply(ceType string, value []byte) error {
	table, change, ok := strings.Cut(ceType, ".")
	if !ok {
		return fmt.Errorf("event type %q is not <table>.<change>", ceType)
	}
	if change == events.EventSigned || change == events.EventSubmitted {
		return nil // a gateway notice: the row changes when the national platform takes it and the bridge captures it
	}
	var row struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(value, &row); err != nil || row.ID == "" {
		return fmt.Errorf("%s event value has no id: %v", ceType, err)
	}
	switch change {
	case "upserted", "deleted":
		if s[table] == nil {
			s[table] = map[string]json.RawMessage{}
		}
		s[table][row.ID] = append(json.RawMessage(nil), value...)
	case "removed":
		delete(s[table], row.ID)
	default:
		return fmt.Errorf("unknown change %q in event type %q", change, ceType)
	}
	return nil
}

// Count is the number of rows per table.
func (s State) Count() map[string]int {
	out := map[string]int{}
	for table, rows := range s {
		out[table] = len(rows)
	}
	return out
}
