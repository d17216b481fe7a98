package progress

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// reading is what is shown of a stage at one moment. Both renderings format it with the methods below, so a
// terminal and a log say the same thing.
type reading struct {
	name        string
	done, total int64   // total 0: unknown
	rate        float64 // per second: over the recent window, or since the start when final
	final       bool
}

// counts: "412000/988188 (41%)", or "412000" while the total is unknown. The percentage stops at 100 when a
// total was estimated too low.
func (r reading) counts() string {
	if r.total <= 0 {
		return fmt.Sprint(r.done)
	}
	pct := min(100, r.done*100/r.total)
	return fmt.Sprintf("%d/%d (%d%%)", r.done, r.total, pct)
}

// speed: whole numbers per second, one decimal below ten (a few change rounds per second).
func (r reading) speed() string {
	s := fmt.Sprintf("%.0f/s", r.rate)
	if r.rate < 9.95 {
		s = fmt.Sprintf("%.1f/s", r.rate)
	}
	if r.final {
		return "avg " + s
	}
	return s
}

// eta against the current total; "eta ?" while nothing moves, nothing when the total is unknown, reached, or
// the work has ended.
func (r reading) eta() string {
	left := r.total - r.done
	switch {
	case r.final || r.total <= 0 || left <= 0:
		return ""
	case r.rate <= 0:
		return "eta ?"
	}
	secs := math.Min(float64(left)/r.rate, float64(math.MaxInt64/time.Second))
	return "eta " + (time.Duration(secs * float64(time.Second))).Round(time.Second).String()
}

// text: the stage in one piece, "captured 412000/988188 (41%) 52000/s eta 11s".
func (r reading) text() string {
	parts := []string{r.name, r.counts(), r.speed()}
	if e := r.eta(); e != "" {
		parts = append(parts, e)
	}
	return strings.Join(parts, " ")
}

// joined: every stage on one line, in the order given.
func joined(rs []reading) string {
	texts := make([]string, len(rs))
	for i, r := range rs {
		texts[i] = r.text()
	}
	return strings.Join(texts, " · ")
}
