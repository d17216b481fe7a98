package testenv

import (
	"context"
	"testing"
	"time"

	"hotline-bridge/infra/dev/localjaeger"
)

// jaegerStartTimeout covers the first build of the binary (about five minutes on two cores).
const jaegerStartTimeout = 15 * time.Minute

var sharedJaeger shared[*localjaeger.Jaeger]

// Jaeger returns the shared throwaway Jaeger of this test binary, built and started on first use.
func Jaeger(t testing.TB) *localjaeger.Jaeger {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("testenv: Jaeger needs this package's TestMain to call testenv.Main, which stops it at exit")
	}
	_, err := sharedJaeger.get(func() (*localjaeger.Jaeger, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), jaegerStartTimeout)
		defer cancel()
		j, err := localjaeger.Start(ctx)
		if err != nil {
			return nil, "", err
		}
		return j, j.QueryURL(), nil
	})
	if err != nil {
		t.Fatalf("testenv: start jaeger: %v", err)
	}
	sharedJaeger.mu.Lock()
	defer sharedJaeger.mu.Unlock()
	return sharedJaeger.val
}
