package distribute

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"hotline-bridge/events"
	"hotline-bridge/events/signing"
)

// EventSigner signs with the stored active key, or with a fixed one (signing_key_file), and publishes every
// public key before the first event signed with a key it has not published yet.
type EventSigner struct {
	keys      SigningKeys
	fixed     *signing.PrivateKey // nil: the store's active key, read for every batch so a rotation takes at once
	publisher KeyPublisher

	mu        sync.Mutex
	published map[string]bool // key ids this process has seen on the keys topic (published them itself)
}

var _ Signer = (*EventSigner)(nil)

// NewEventSigner signs with fixed when it is set, else with keys' active key; keys' public keys are what it
// publishes in either case.
func NewEventSigner(keys SigningKeys, fixed *signing.PrivateKey, publisher KeyPublisher) *EventSigner {
	return &EventSigner{keys: keys, fixed: fixed, publisher: publisher, published: map[string]bool{}}
}

// Sign signs each event once, over exactly the header values and bytes the sender puts on the record.
func (s *EventSigner) Sign(ctx context.Context, batch []events.Distribution) error {
	if len(batch) == 0 {
		return nil
	}
	key, err := s.Current(ctx)
	if err != nil {
		return err
	}
	// Signing is pure CPU (Ed25519 about 30 µs an event, SM2 about 50 µs): spread over the cores, a batch of a
	// thousand is signed in the time a few hundred take on one.
	workers := min(runtime.GOMAXPROCS(0), max(1, len(batch)/parallelFrom))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(batch) && errs[w] == nil; i += workers {
				errs[w] = signOne(key, &batch[i])
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// parallelFrom is the number of events per extra signing goroutine: fewer are not worth starting one for.
const parallelFrom = 64

func signOne(key *signing.PrivateKey, d *events.Distribution) error {
	sig, err := key.SignHeader(signing.Event{ID: d.EventID, Type: d.Type, Subject: d.RowID,
		Time: events.FormatTime(d.RowTime), Key: []byte(d.Key), Value: d.Payload})
	if err != nil {
		return fmt.Errorf("sign outbox event %d with key %s: %w", d.Seq, key.ID, err)
	}
	d.Signature, d.SignatureKeyID = sig, key.ID
	return nil
}

// Current is the key to sign with now, published.
func (s *EventSigner) Current(ctx context.Context) (*signing.PrivateKey, error) {
	key := s.fixed
	if key == nil {
		var err error
		if key, err = s.keys.Active(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.published[key.ID] {
		return key, nil
	}
	if err := s.publish(ctx); err != nil {
		return nil, err
	}
	if !s.published[key.ID] {
		return nil, fmt.Errorf("signing key %s is not among the stored public keys: it cannot be published", key.ID)
	}
	return key, nil
}

// Publish puts every stored public key on the keys topic (again: the topic is compacted).
func (s *EventSigner) Publish(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publish(ctx)
}

func (s *EventSigner) publish(ctx context.Context) error {
	keys, err := s.keys.Public(ctx)
	if err != nil {
		return err
	}
	if err := s.publisher.PublishKeys(ctx, keys); err != nil {
		return err
	}
	for _, k := range keys {
		s.published[k.ID] = true
	}
	return nil
}
