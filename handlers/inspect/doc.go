// Package inspect is bridge inspect (巡检): one look at everything an operator checks — the upstream, the store
// and the broker with their versions, capture lag per table, parked and quarantined rows, the outbox backlog, the
// last reconciliation, each district consumer group's lag, the store's disk — judged against thresholds into a
// Report whose Status gives the exit code (0 ok, 1 warning, 2 critical). bridge run inspects on a schedule and
// keeps the reports in bridge.inspection for the status page.
package inspect
