// Package reconcile finds what was lost between the national upstream, the dedicated store and the districts and
// heals it: each kind of check (source: the upstream against the ledger and the store; delivery: the store's
// events against the unit topics) is a Check, and the Reconciler runs the checks asked for, one run at a time
// across every bridge instance, and records each run and its findings.
package reconcile
