// Package schemas holds the project's contracts as files: the reference upstream schema, the bridge's own
// migrations, the unit catalogue and the JSON Schemas of published payloads.
package schemas

import "embed"

// Upstream is the reference national upstream schema (read-only contract with SAMR's platform).
//
//go:embed upstream/*.sql
var Upstream embed.FS

// Bridge holds the goose migrations of the bridge's own state and the dedicated store.
//
//go:embed bridge/*.sql
var Bridge embed.FS
