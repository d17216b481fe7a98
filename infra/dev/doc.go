// Package dev holds the throwaway services of the tests, the demo and the benchmark: a PostgreSQL cluster from
// the machine's binaries (localpg), a real Kafka broker from Maven Central's jars (localkafka), the process
// plumbing they share (localproc) and the test environment that starts them (testenv). Nothing in production
// imports them; the production adapters are infra/postgres and infra/kafka.
package dev
