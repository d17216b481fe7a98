package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/pipeline"
)

// gatewayConcurrency is how many clients send at once in BenchmarkGatewayLoopback.
const gatewayConcurrency = 16

// BenchmarkGatewayLoopback measures the gateway on loopback with its real store: b.N initial-feedback POSTs (each
// a new request under its own key, so each is a whole transaction: lookup under the work order's lock, checks,
// the request, two outbox events, an audit hop) from gatewayConcurrency clients, and reports requests/s and the
// p99 latency. Bound it with -benchtime Nx; it is not part of the test run:
//
//	go run ./infra/dev/testenv/cmd/testenv -- go test -run '^$' -bench BenchmarkGatewayLoopback -benchtime 2000x ./pipeline/
func BenchmarkGatewayLoopback(b *testing.B) {
	e := newBridgeEnv(b, testenv.KafkaBrokers(b))
	e.cfg.GatewayRate, e.cfg.GatewayBurst = 1e6, 1<<20
	ctx := context.Background()
	for _, sql := range []string{treeSQL, gatewaySQL} {
		if _, err := e.upstream.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	runCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := pipeline.Run(runCtx, e.cfg, quietLogger(), true); err != nil {
		b.Fatal(err)
	}
	token, err := pipeline.CreateGatewayToken(ctx, e.cfg, quietLogger(), "420106", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	base := serveGateway(b, e.cfg)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: gatewayConcurrency}}
	var next atomic.Int64
	latencies := make([]time.Duration, b.N)
	failures := make(chan string, gatewayConcurrency)
	b.ResetTimer()
	started := time.Now()
	var wg sync.WaitGroup
	for range gatewayConcurrency {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				took, err := postFeedback(client, base, token, i)
				if err != nil {
					failures <- err.Error()
					return
				}
				latencies[i] = took
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(started)
	b.StopTimer()
	close(failures)
	for f := range failures {
		b.Fatal(f)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
}

// unitWorkOrders are the fixture's work orders of 420106.
var unitWorkOrders = []string{"GW-0001", "GW-0003", "GW-0004", "GW-0005"}

func postFeedback(client *http.Client, base, token string, i int64) (time.Duration, error) {
	regNo := unitWorkOrders[i%int64(len(unitWorkOrders))]
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/work-orders/"+regNo+"/initial-feedback",
		strings.NewReader(`{"handler_id": "P-420106", "result": "1", "content": "已联系商家"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", i))
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return 0, fmt.Errorf("request %d answered %d", i, resp.StatusCode)
	}
	return took, nil
}
