// Package localproc runs a throwaway local server (PostgreSQL, a Kafka JVM)
// as a child process for tests: started with its output appended to a log
// file, reaped in the background, stopped with a signal that escalates to
// SIGKILL, and signalled by the kernel if its parent dies first, so no server
// outlives the test binary that started it. It also picks the free port such
// a server listens on and reads its log's tail for error messages.
package localproc
