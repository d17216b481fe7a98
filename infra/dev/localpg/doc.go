// Package localpg starts a throwaway PostgreSQL cluster from the machine's
// PostgreSQL binaries, for tests and local runs: a temporary data directory,
// trust authentication, 127.0.0.1 on a free port, durability switched off
// for speed. Nothing of it survives Stop.
//
// initdb and postgres refuse to run as root; when the caller is root the
// server runs as the "postgres" system user, which owns the data directory.
package localpg
