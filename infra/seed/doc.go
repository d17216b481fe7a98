// Package seed fills a reference upstream — a PostgreSQL database with schemas/upstream applied — with synthetic
// national 12315 data, and then keeps changing it the way the national platform does, so the bridge can be run
// and tested against realistic volumes and realistic trouble: Wuhan's few percent among national rows, handling
// units moved between districts and cities, thousands of rows sharing one update_time, rows at the epoch and in
// 2099, soft deletes and late commits.
//
// Generate writes the organisation tree of docs/reference-org-tree.md, personnel, the dictionary and
// registrations with their families, streaming them with COPY in chunks; Change then runs rounds of changes.
// Both are deterministic for a seed (Generate also for a fixed Options.Now).
package seed
