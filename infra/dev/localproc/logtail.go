package localproc

import (
	"bytes"
	"fmt"
	"os"
)

// LogTail returns the last lines of a log file, for error messages.
func LogTail(path string) string {
	const maxBytes, maxLines = 6144, 30
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
