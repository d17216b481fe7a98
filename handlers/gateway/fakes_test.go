package gateway_test

import (
	"context"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/gateway"
)

// fakeStore is Wuhan's store in memory: enough for the HTTP contract. The real store's behaviour (locks,
// transactions, a store that goes away) is tested against PostgreSQL in the pipeline package.
type fakeStore struct {
	mu         sync.Mutex
	down       bool
	tokens     map[string]string // hex of the token hash → caller
	workOrders map[string]gateway.WorkOrder
	personnel  map[string]string // id → unit
	dictionary map[string]bool   // "type/code"
	kept       []gateway.Kept
	outbox     []events.Distribution
	hops       []events.Hop
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		tokens: map[string]string{},
		workOrders: map[string]gateway.WorkOrder{
			"N1":    {Found: true, RegistrationID: "R1", Unit: "420106", HandleDeptID: "ORG-420106", Status: "20"},
			"N2":    {Found: true, RegistrationID: "R2", Unit: "420102", HandleDeptID: "ORG-420102", Status: "20"},
			"N3":    {Found: true, RegistrationID: "R3", Unit: "420106", HandleDeptID: "ORG-420106", Status: "20"},
			"GONE1": {RegistrationID: "R9", LeftWuhan: true},
		},
		personnel:  map[string]string{"P1": "420106", "P2": "420102"},
		dictionary: map[string]bool{"initial_result/1": true, "final_result/9": true},
	}
}

// token issues a token for caller.
func (s *fakeStore) token(caller string) string {
	token, hash, _ := gateway.NewToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[hex.EncodeToString(hash)] = caller
	return token
}

func (s *fakeStore) Authenticate(_ context.Context, hash []byte, _ time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return "", gateway.ErrUnavailable
	}
	caller, ok := s.tokens[hex.EncodeToString(hash)]
	if !ok {
		return "", gateway.ErrUnauthenticated
	}
	return caller, nil
}

func (s *fakeStore) Apply(ctx context.Context, fn func(gateway.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return gateway.ErrUnavailable
	}
	tx := &fakeTx{s: s}
	if err := fn(tx); err != nil {
		return err
	}
	s.kept = append(s.kept, tx.kept...)
	s.outbox = append(s.outbox, tx.outbox...)
	s.hops = append(s.hops, tx.hops...)
	return nil
}

func (s *fakeStore) View(_ context.Context, regNo string) (gateway.View, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return gateway.View{}, gateway.ErrUnavailable
	}
	wo, ok := s.workOrders[regNo]
	if !ok {
		return gateway.View{}, gateway.ErrNoWorkOrder
	}
	v := gateway.View{WorkOrder: wo, RegNo: regNo, Journey: slices.Clone(s.hops)}
	for _, k := range s.kept {
		if k.RegNo == regNo {
			v.Submissions = append(v.Submissions, gateway.Submission{RequestID: k.RequestID, Action: k.Action,
				Caller: k.Caller, Unit: k.Unit, AcceptedAt: k.AcceptedAt, Payload: k.Payload})
		}
	}
	return v, nil
}

func (s *fakeStore) Ping(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return gateway.ErrUnavailable
	}
	return nil
}

func (s *fakeStore) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

func (s *fakeStore) keptCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.kept)
}

type fakeTx struct {
	s      *fakeStore
	kept   []gateway.Kept
	outbox []events.Distribution
	hops   []events.Hop
}

func (t *fakeTx) Previous(_ context.Context, caller, key string) (gateway.Kept, bool, error) {
	for _, k := range t.s.kept {
		if k.Caller == caller && k.IdempotencyKey == key {
			return k, true, nil
		}
	}
	return gateway.Kept{}, false, nil
}

func (t *fakeTx) WorkOrder(_ context.Context, regNo string) (gateway.WorkOrder, error) {
	return t.s.workOrders[regNo], nil
}

func (t *fakeTx) Signed(_ context.Context, registrationID, unit string) (bool, error) {
	for _, k := range t.s.kept {
		if k.RegistrationID == registrationID && k.Unit == unit && k.Action == gateway.ActionSign {
			return true, nil
		}
	}
	return false, nil
}

func (t *fakeTx) PersonnelUnit(_ context.Context, id string) (string, error) {
	return t.s.personnel[id], nil
}

func (t *fakeTx) InDictionary(_ context.Context, dictType, code string) (bool, error) {
	return t.s.dictionary[dictType+"/"+code], nil
}

func (t *fakeTx) Keep(_ context.Context, k gateway.Kept, out []events.Distribution, hop events.Hop) error {
	t.kept = append(t.kept, k)
	t.outbox = append(t.outbox, out...)
	t.hops = append(t.hops, hop)
	return nil
}
