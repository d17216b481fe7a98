package distribute_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/events/signing"
	"hotline-bridge/handlers/distribute"
)

// memKeys is the store's signing keys in memory: one active key, every public one.
type memKeys struct {
	mu     sync.Mutex
	active *signing.PrivateKey
	public []signing.PublicKey
	down   int // Active fails this many more times
}

func newMemKeys(t *testing.T) *memKeys {
	k := &memKeys{}
	k.rotate(t)
	return k
}

func (k *memKeys) rotate(t *testing.T) *signing.PrivateKey {
	t.Helper()
	fresh, err := signing.GenerateKey(signing.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := time.Now()
	for i := range k.public {
		if k.public[i].Retired == nil {
			k.public[i].Retired = &now
		}
	}
	k.active, k.public = fresh, append(k.public, fresh.PublicKey(now))
	return fresh
}

func (k *memKeys) Active(context.Context) (*signing.PrivateKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.down > 0 {
		k.down--
		return nil, errors.New("read the active signing key: connection refused")
	}
	return k.active, nil
}

func (k *memKeys) Public(context.Context) ([]signing.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.public), nil
}

// memKeysTopic is the keys topic; it notes how many events the broker held when each key first appeared on it.
type memKeysTopic struct {
	broker  *memBroker
	keys    map[string]signing.PublicKey
	firstAt map[string]int
}

func (p *memKeysTopic) PublishKeys(_ context.Context, keys []signing.PublicKey) error {
	for _, k := range keys {
		if _, ok := p.firstAt[k.ID]; !ok {
			p.firstAt[k.ID] = len(p.broker.deliveries())
		}
		p.keys[k.ID] = k
	}
	return nil
}

func (p *memKeysTopic) keySet(t *testing.T) *signing.KeySet {
	t.Helper()
	var keys []signing.PublicKey
	for _, k := range p.keys {
		keys = append(keys, k)
	}
	set, err := signing.NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func newSigningForwarder(t *testing.T, o *memOutbox, b *memBroker, keys *memKeys) (*distribute.Forwarder, *memKeysTopic) {
	t.Helper()
	topic := &memKeysTopic{broker: b, keys: map[string]signing.PublicKey{}, firstAt: map[string]int{}}
	cfg := distribute.Config{BatchSize: 1000, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		Signer: distribute.NewEventSigner(keys, nil, topic)}
	f, err := distribute.NewForwarder(cfg, o, b, slog.New(&recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	return f, topic
}

// asRecord is the delivered event as a consumer reads it, with the headers the Kafka sender writes.
func asRecord(d events.Distribution) signing.Record {
	return signing.Record{Headers: map[string]string{
		events.HeaderID: d.EventID, events.HeaderType: d.Type, events.HeaderSubject: d.RowID,
		events.HeaderTime: events.FormatTime(d.RowTime), events.HeaderSignature: d.Signature,
		events.HeaderSignatureKeyID: d.SignatureKeyID,
	}, Key: []byte(d.Key), Value: d.Payload}
}

func TestForwarderSignsEveryEventWithAKeyPublishedBeforeIt(t *testing.T) {
	o, b, keys := newMemOutbox(), &memBroker{}, newMemKeys(t)
	o.add(2500)
	f, topic := newSigningForwarder(t, o, b, keys)
	if n, err := f.Drain(context.Background()); err != nil || n != 2500 {
		t.Fatalf("Drain = %d, %v; want 2500", n, err)
	}
	set := topic.keySet(t)
	for _, d := range b.deliveries() {
		if err := set.Verify(asRecord(d.Event)); err != nil {
			t.Fatalf("event %d: %v", d.Event.Seq, err)
		}
		if d.Event.SignatureKeyID != keys.active.ID {
			t.Fatalf("event %d signed by %s, the active key is %s", d.Event.Seq, d.Event.SignatureKeyID, keys.active.ID)
		}
	}
	if at := topic.firstAt[keys.active.ID]; at != 0 {
		t.Fatalf("the key reached the keys topic after %d events signed with it", at)
	}
}

func TestARotatedKeySignsTheNextBatchAndBothKeysStayPublished(t *testing.T) {
	o, b, keys := newMemOutbox(), &memBroker{}, newMemKeys(t)
	f, topic := newSigningForwarder(t, o, b, keys)
	old := keys.active
	o.add(1000)
	if _, err := f.Forward(context.Background()); err != nil {
		t.Fatal(err)
	}
	fresh := keys.rotate(t)
	o.add(1000)
	if _, err := f.Forward(context.Background()); err != nil {
		t.Fatal(err)
	}
	set, got := topic.keySet(t), b.deliveries()
	for i, d := range got {
		want := old.ID
		if i >= 1000 {
			want = fresh.ID
		}
		if d.Event.SignatureKeyID != want {
			t.Fatalf("delivery %d signed by %s, want %s", i, d.Event.SignatureKeyID, want)
		}
		if err := set.Verify(asRecord(d.Event)); err != nil {
			t.Fatalf("delivery %d with the keys published after the rotation: %v", i, err)
		}
	}
	if topic.firstAt[fresh.ID] != 1000 {
		t.Fatalf("the new key reached the keys topic when %d events were sent, want 1000: before any it signed", topic.firstAt[fresh.ID])
	}
	if k := topic.keys[old.ID]; k.Retired == nil {
		t.Fatalf("the old key is published without its retirement: %+v", k)
	}
}

func TestNoEventLeavesUnsignedWhenTheKeyCannotBeRead(t *testing.T) {
	o, b, keys := newMemOutbox(), &memBroker{}, newMemKeys(t)
	keys.down = 2
	o.add(10)
	f, _ := newSigningForwarder(t, o, b, keys)
	if _, err := f.Forward(context.Background()); err == nil || len(b.deliveries()) != 0 || o.unpublished() != 10 {
		t.Fatalf("Forward = %v with %d sent, %d unpublished; want the key's error, nothing sent", err, len(b.deliveries()), o.unpublished())
	}
	if n, err := f.Drain(context.Background()); n != 10 || err != nil {
		t.Fatalf("Drain after the store came back = %d, %v; want 10", n, err)
	}
	for _, d := range b.deliveries() {
		if d.Event.SignatureKeyID == "" {
			t.Fatalf("event %d sent unsigned", d.Event.Seq)
		}
	}
}
