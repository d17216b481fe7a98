// Package district is the reference district consumer: it applies a unit topic's events in offset order into
// the unit's materialised state, exactly as the contract tells district developers to.
package district
