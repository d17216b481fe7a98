// Package progress shows how far long work has come — a seed, a catch-up — on the writer an operator watches:
// one bar per stage with count, rate and ETA on a terminal, one plain line every few seconds elsewhere (a log
// file, CI), so neither a person nor a log reader faces minutes of silence. It reads counters, never rows, so
// nothing it prints can carry personal data.
//
// It lives under pipeline because only the commands pipeline wires (seed, run --until-idle) show progress; it
// is neither the bridge's flow logic (handlers) nor an adapter to a server (infra).
package progress
