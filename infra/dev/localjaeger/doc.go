// Package localjaeger runs a throwaway Jaeger v2 (all-in-one, in-memory storage) for tests and the benchmark:
// it builds the binary once from tools/jaeger.mod, a module of its own whose old dependencies never meet ours,
// caches it outside git keyed by that module's hash, and starts it on free loopback ports.
package localjaeger
