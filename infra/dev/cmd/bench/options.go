package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Seed scale measured here: 175,000 registrations gave 988,188 upstream rows across the twelve tables, so the
// default is about one million rows and ROWS converts at this ratio.
const (
	defaultRegistrations = 175000
	refRegistrations     = 175000
	refRows              = 988188
)

// options are what the environment says to measure.
type options struct {
	Registrations int   // registrations of the 1× size
	Sizes         []int // multiples of Registrations, one fresh upstream, store and topics each
	// Steady state: a running bridge over a small seed, changed for SteadyFor; zero skips it.
	SteadyRegistrations int
	SteadyFor           time.Duration
	// Traced runs the bridge a second time per size with tracing on, exporting to a throwaway Jaeger.
	Traced bool
	// WarmUpRegistrations seeds the untimed warm-up run; zero skips it.
	WarmUpRegistrations int
}

// loadOptions reads REGISTRATIONS or ROWS (REGISTRATIONS wins), SIZES, STEADY_REGISTRATIONS, STEADY_SECONDS,
// WARMUP_REGISTRATIONS (0 skips the warm-up) and TRACING (0 skips the traced run), reporting every bad value at
// once.
func loadOptions() (options, error) {
	o := options{Registrations: defaultRegistrations, Sizes: []int{1, 3}, SteadyRegistrations: 20000, SteadyFor: 40 * time.Second, Traced: true,
		WarmUpRegistrations: 20000}
	var errs []error
	intVar := func(name string, set func(int)) {
		n, ok, err := envInt(name)
		errs = append(errs, err)
		if ok {
			set(n)
		}
	}
	intVar("ROWS", func(n int) { o.Registrations = int(math.Round(float64(n) * refRegistrations / refRows)) })
	intVar("REGISTRATIONS", func(n int) { o.Registrations = n })
	intVar("STEADY_REGISTRATIONS", func(n int) { o.SteadyRegistrations = n })
	intVar("STEADY_SECONDS", func(n int) { o.SteadyFor = time.Duration(n) * time.Second })
	intVar("TRACING", func(n int) { o.Traced = n != 0 })
	intVar("WARMUP_REGISTRATIONS", func(n int) { o.WarmUpRegistrations = n })
	if s := os.Getenv("SIZES"); s != "" {
		var err error
		o.Sizes, err = parseSizes(s)
		errs = append(errs, err)
	}
	if o.Registrations < 1 {
		errs = append(errs, fmt.Errorf("registrations must be positive, got %d", o.Registrations))
	}
	if o.WarmUpRegistrations < 0 {
		errs = append(errs, fmt.Errorf("WARMUP_REGISTRATIONS must not be negative, got %d", o.WarmUpRegistrations))
	}
	if o.SteadyFor > 0 && o.SteadyRegistrations < 1 {
		errs = append(errs, fmt.Errorf("STEADY_REGISTRATIONS must be positive, got %d", o.SteadyRegistrations))
	}
	return o, errors.Join(errs...)
}

// envInt reads a non-negative integer; ok says it was set.
func envInt(name string) (n int, ok bool, err error) {
	s := os.Getenv(name)
	if s == "" {
		return 0, false, nil
	}
	n, err = strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("%s=%q: want a non-negative integer", name, s)
	}
	return n, true, nil
}

// parseSizes reads a comma-separated list of positive multiples, such as "1,3".
func parseSizes(s string) ([]int, error) {
	var sizes []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("SIZES=%q: want positive multiples such as 1,3", s)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}
