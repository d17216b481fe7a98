package gateway

import (
	"math"
	"sync"

	"golang.org/x/time/rate"
)

// limiter bounds each caller's requests. It is per gateway instance: with n instances behind a balancer a
// caller gets up to n times the rate, which is what the bound is for (no caller starves the store), not a quota.
type limiter struct {
	mu      sync.Mutex
	rate    rate.Limit
	burst   int
	callers map[string]*rate.Limiter
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{rate: rate.Limit(perSecond), burst: burst, callers: map[string]*rate.Limiter{}}
}

// allow takes one request of the caller's allowance, or says how many seconds to wait for one.
func (l *limiter) allow(caller string) (int, bool) {
	l.mu.Lock()
	lim, ok := l.callers[caller]
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.callers[caller] = lim
	}
	l.mu.Unlock()
	if lim.Allow() {
		return 0, true
	}
	return max(1, int(math.Ceil(1/float64(l.rate)))), false
}
