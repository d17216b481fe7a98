package distribute_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"hotline-bridge/handlers/distribute"
)

// sealedOpener stands for the keyring: the outbox keeps "sealed:" before each payload.
type sealedOpener struct{}

func (sealedOpener) Open(_ string, p []byte) ([]byte, error) {
	if rest, ok := bytes.CutPrefix(p, []byte("sealed:")); ok {
		return rest, nil
	}
	return nil, unknownKey{}
}

type unknownKey struct{}

func (unknownKey) Error() string {
	return "a value is sealed under encryption key id 0123456789abcdef, which none of the configured keys has"
}
func (unknownKey) Permanent() bool { return true }

// The forwarder publishes what the opener gives back, and the outbox keeps what it kept.
func TestForwarderPublishesOpenedPayloads(t *testing.T) {
	o, b := newMemOutbox(), &memBroker{}
	o.add(5)
	for i := range o.rows {
		o.rows[i].Payload = append([]byte("sealed:"), o.rows[i].Payload...)
	}
	f, err := distribute.NewForwarder(distribute.Config{Payloads: sealedOpener{}}, o, b, slog.New(&recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.Drain(context.Background()); err != nil || n != 5 {
		t.Fatalf("drain: %d, %v; want 5 published", n, err)
	}
	for i, d := range b.deliveries() {
		if want := o.rows[i].Payload[len("sealed:"):]; !bytes.Equal(d.Event.Payload, want) {
			t.Errorf("event %d published %s, want %s", i, d.Event.Payload, want)
		}
		if !bytes.HasPrefix(o.rows[i].Payload, []byte("sealed:")) {
			t.Errorf("outbox row %d lost its seal: %s", i, o.rows[i].Payload)
		}
	}
}

// A payload that does not open stops the forwarder at once with an error naming the event, and sends nothing.
func TestForwarderStopsAtAPayloadItCannotOpen(t *testing.T) {
	o, b := newMemOutbox(), &memBroker{}
	o.add(3)
	cfg := distribute.Config{Payloads: sealedOpener{}, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	f, err := distribute.NewForwarder(cfg, o, b, slog.New(&recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = f.Run(ctx, time.Millisecond)
	if !errors.As(err, new(unknownKey)) || ctx.Err() != nil {
		t.Fatalf("run: %v (context %v); want the unknown key, before the context ends", err, ctx.Err())
	}
	if want := "outbox event 1 (registration R1): a value is sealed under encryption key id 0123456789abcdef"; err.Error()[:len(want)] != want {
		t.Errorf("error %q, want it to start %q", err, want)
	}
	if len(b.deliveries()) != 0 || o.unpublished() != 3 {
		t.Errorf("%d sent, %d pending; want nothing sent, all 3 pending", len(b.deliveries()), o.unpublished())
	}
}
