// Package spans holds what every hop's tracing shares: the tracer lookup, span endings that keep row values out
// of traces, the W3C propagator and stand-in trace ids for when no provider records spans.
package spans
