// Package pipeline wires the bridge together: it validates configuration, builds the pollers, routers and
// middleware once, and owns start, run and bounded shutdown. Only main imports it.
package pipeline
