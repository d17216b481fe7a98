package distribute_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/distribute"
)

// refusedError is what the Kafka adapter returns when the broker's ACLs refuse the bridge: permanent.
type refusedError struct{}

func (refusedError) Error() string   { return "kafka's ACLs refuse the bridge's principal User:bridge" }
func (refusedError) Permanent() bool { return true }

type refusingSender struct{ calls int }

func (s *refusingSender) Send(context.Context, []events.Distribution) ([]distribute.Published, error) {
	s.calls++
	return nil, refusedError{}
}

// A failure that retrying cannot mend ends Drain and Run at once, with the error, instead of a retry loop that
// would report it as an outage forever.
func TestForwarderStopsAtAPermanentFailure(t *testing.T) {
	for name, forward := range map[string]func(context.Context, *distribute.Forwarder) error{
		"drain": func(ctx context.Context, f *distribute.Forwarder) error { _, err := f.Drain(ctx); return err },
		"run":   func(ctx context.Context, f *distribute.Forwarder) error { return f.Run(ctx, time.Millisecond) },
	} {
		t.Run(name, func(t *testing.T) {
			o, sender, logs := newMemOutbox(), &refusingSender{}, &recorder{}
			o.add(10)
			cfg := distribute.Config{BatchSize: 1000, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}
			f, err := distribute.NewForwarder(cfg, o, sender, slog.New(logs))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = forward(ctx, f)
			if !errors.As(err, new(refusedError)) || ctx.Err() != nil {
				t.Fatalf("got %v (context: %v); want the refusal, before the context ends", err, ctx.Err())
			}
			if sender.calls != 1 || len(logs.at(slog.LevelWarn)) != 0 || o.unpublished() != 10 {
				t.Fatalf("%d sends, retry warnings %q, %d unpublished; want one send, no retry, all 10 still pending",
					sender.calls, logs.at(slog.LevelWarn), o.unpublished())
			}
		})
	}
}
