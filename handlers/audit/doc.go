// Package audit keeps the audit trail: every hop of every row version that is or was Wuhan's — captured,
// decided, stored, removed, quarantined, published — so that on-call staff can answer "what happened to this work
// order" in one command.
//
// The stages record their hops in the transaction of the deed itself (the store's audit outbox), so a hop is
// never lost nor recorded for a deed that rolled back. The Relay puts them on the audit topic; the Recorder, the
// audit subscriber, keeps them append-only in the trail, in batches, once each however often they are delivered.
package audit
