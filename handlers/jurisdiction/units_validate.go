package jurisdiction

import (
	"errors"
	"fmt"

	"hotline-bridge/events"
)

// unitChecker collects every problem of a catalogue rather than stopping at the first.
type unitChecker struct {
	list   []Unit
	errs   []error
	codes  map[string]int // unit code → first unit using it
	claims map[string]int // "org id X" / "division code X" → first unit claiming it
}

func validateUnits(list []Unit) []error {
	if len(list) == 0 {
		return []error{errors.New("no units")}
	}
	c := &unitChecker{list: list, codes: map[string]int{}, claims: map[string]int{}}
	for i := range list {
		c.checkCode(i)
		c.checkName(i)
		c.checkKeys(i)
	}
	return c.errs
}

func unitError(i int, code, problem string) error {
	return fmt.Errorf("unit %d (%q): %s", i, code, problem)
}

func (c *unitChecker) fail(i int, format string, args ...any) {
	c.errs = append(c.errs, unitError(i, c.list[i].Code, fmt.Sprintf(format, args...)))
}

func (c *unitChecker) checkCode(i int) {
	code := c.list[i].Code
	switch {
	case code == "":
		c.fail(i, "empty code")
		return
	case !isTopicSafe(code):
		c.fail(i, "code must match [a-z0-9]+: it becomes part of Kafka topic names")
	case code == events.BroadcastUnit || code == "capture" || code == "quarantine":
		c.fail(i, "code %q is reserved: its topic carries something else", code)
	}
	if first, dup := c.codes[code]; dup {
		c.fail(i, "duplicate code, first used by unit %d", first)
		return
	}
	c.codes[code] = i
}

func (c *unitChecker) checkName(i int) {
	if c.list[i].Name == "" {
		c.fail(i, "empty name")
	}
}

// checkKeys checks what a unit is recognised by. A key claimed twice would make the walk's answer depend on
// catalogue order, so it is refused.
func (c *unitChecker) checkKeys(i int) {
	unit := c.list[i]
	if len(unit.OrgIDs) == 0 && len(unit.DivisionCodes) == 0 {
		c.fail(i, "neither org_ids nor division_codes: nothing would ever reach it")
	}
	for _, id := range unit.OrgIDs {
		if id == "" {
			c.fail(i, "empty org id")
			continue
		}
		c.claim(i, "org id "+id)
	}
	for _, code := range unit.DivisionCodes {
		if !isDivisionCode(code) {
			c.fail(i, "division code %q is not six digits", code)
			continue
		}
		c.claim(i, "division code "+code)
	}
}

func (c *unitChecker) claim(i int, key string) {
	first, taken := c.claims[key]
	switch {
	case !taken:
		c.claims[key] = i
	case first != i:
		c.fail(i, "%s is also claimed by unit %d (%q)", key, first, c.list[first].Code)
	}
}

// isTopicSafe: unit codes end up in topic names, which must stay portable across Kafka and file systems.
func isTopicSafe(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return s != ""
}

// isDivisionCode: a GB/T 2260 county-level code is exactly six digits.
func isDivisionCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
