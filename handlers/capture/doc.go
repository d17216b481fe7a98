// Package capture reads the national platform's tables incrementally by (update_time, id) and emits one
// "row changed" event per row version, losing none: it keeps a durable watermark that only passes rows that are
// both safely published and old enough that no transaction still in flight can commit a row before them.
package capture
