package progress

import (
	"fmt"
	"io"
	"time"
)

// plain writes one line per tick: a log file or CI output reads top to bottom and cannot be redrawn.
type plain struct{ w io.Writer }

func (p *plain) update(rs []reading) {
	fmt.Fprintf(p.w, "progress: %s\n", joined(rs))
}

func (p *plain) finish(rs []reading, elapsed time.Duration) {
	fmt.Fprintf(p.w, "progress: final after %s: %s\n", elapsed.Round(time.Second), joined(rs))
}

func (p *plain) Write(b []byte) (int, error) { return p.w.Write(b) }
