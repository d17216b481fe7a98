// Package replay re-sends or re-sorts, on request, what a filter selects from one source — the dedicated store,
// the capture log on the capture topics, or the national upstream — as a job recorded in the store with a
// checkpoint, so that an interrupted job (a SIGKILL included) resumes where it was, and a paused one where it
// stopped. Every source goes through the paths the live flow takes (the outbox under the sorter's row locks, or
// the sorter itself), so a replay beside the live pipeline never lets an older version win.
package replay
