// Package reconcile finds what was lost between the dedicated store and the districts and heals it: each kind of
// check (delivery now; source, against the national upstream, later) is a Check, and the Reconciler runs the
// checks asked for, one run at a time across every bridge instance, and records each run and its findings.
package reconcile
