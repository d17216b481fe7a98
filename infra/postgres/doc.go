// Package postgres adapts PostgreSQL to the handlers' interfaces: the national upstream as a capture source, and
// the bridge's own state (watermarks, the dedicated store) in the Wuhan database.
package postgres
