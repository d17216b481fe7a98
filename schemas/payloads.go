package schemas

import (
	"embed"
	"strings"
)

// Payloads holds the JSON Schemas (2020-12) of distribution event payloads: payloads/<table>.schema.json for a
// table's upserted and deleted events, payloads/removed.schema.json for every removed event.
//
//go:embed payloads/*.json
var Payloads embed.FS

// PayloadSchema is the file in Payloads describing the payload of an event type such as "registration.upserted".
func PayloadSchema(eventType string) string {
	table, change, _ := strings.Cut(eventType, ".")
	if change == "removed" {
		return "payloads/removed.schema.json"
	}
	return "payloads/" + table + ".schema.json"
}
