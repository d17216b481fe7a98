package pipeline

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/gateway"
)

var callerPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// validate reports every problem of the gateway's keys at once.
func (g Gateway) validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	_, port, err := net.SplitHostPort(g.GatewayAddr)
	n, convErr := strconv.Atoi(port)
	check(err != nil || convErr != nil || n < 0 || n > 65535,
		"gateway_addr (BRIDGE_GATEWAY_ADDR) %q: want host:port, e.g. 127.0.0.1:8315", g.GatewayAddr)
	check(g.GatewayHotline != "" && !callerPattern.MatchString(g.GatewayHotline),
		"gateway_hotline %q: use 1-32 letters, digits, '_' or '-', or empty for no hotline caller", g.GatewayHotline)
	check(g.GatewayMaxBody < 1024 || g.GatewayMaxBody > 16<<20, "gateway_max_body must be 1024..16777216 bytes, got %d", g.GatewayMaxBody)
	check(g.GatewayRate <= 0, "gateway_rate must be positive (requests a second per caller), got %g", g.GatewayRate)
	check(g.GatewayBurst < 1, "gateway_burst must be at least 1, got %d", g.GatewayBurst)
	check(g.GatewayRequestTimeout < 100*time.Millisecond || g.GatewayRequestTimeout > 5*time.Minute,
		"gateway_request_timeout must be 100ms..5m, got %s", g.GatewayRequestTimeout)
	check(g.GatewayConfirmInterval < 100*time.Millisecond, "gateway_confirm_interval must be at least 100ms, got %s", g.GatewayConfirmInterval)
	return errors.Join(errs...)
}

// checkHotline refuses a hotline caller that is also a unit's code: a unit's token would then act for every unit.
func (c Config) checkHotline() error {
	units, _ := c.units()
	codes := append(units.Codes(), events.BroadcastUnit, events.UpstreamUnit)
	if slices.Contains(codes, c.GatewayHotline) {
		return fmt.Errorf("gateway_hotline %q is a unit code or a reserved name; name the hotline caller otherwise (default 12345)", c.GatewayHotline)
	}
	return nil
}

// callers is every caller a gateway token may be issued to: the units, and the hotline caller if there is one.
func (c Config) callers() []string {
	units, _ := c.units()
	callers := units.Codes()
	if c.GatewayHotline != "" {
		callers = append(callers, c.GatewayHotline)
	}
	return callers
}

func (g Gateway) server() gateway.Config {
	return gateway.Config{Hotline: g.GatewayHotline, MaxBody: g.GatewayMaxBody, Rate: g.GatewayRate, Burst: g.GatewayBurst,
		RequestTimeout: g.GatewayRequestTimeout}
}
