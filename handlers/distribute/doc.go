// Package distribute forwards the transactional outbox to the units' topics: every committed change of the
// dedicated store reaches Kafka at least once, in outbox order, and the outbox records where each event landed.
package distribute
