package gateway

import (
	"context"
	"errors"
	"time"

	"hotline-bridge/events"
)

// Store is what the gateway needs of Wuhan's store.
type Store interface {
	// Authenticate finds the caller of a live token by the token's SHA-256; ErrUnauthenticated when none is.
	Authenticate(ctx context.Context, tokenHash []byte, now time.Time) (string, error)
	// Apply runs fn in one transaction: what fn keeps commits only if fn succeeds.
	Apply(ctx context.Context, fn func(Tx) error) error
	// View reads a work order with what was submitted for it and its journey; ErrNoWorkOrder when the store has
	// never held it.
	View(ctx context.Context, regNo string) (View, error)
	// Ping says whether the store answers.
	Ping(ctx context.Context) error
}

// Tx is what deciding a request does inside one store transaction.
type Tx interface {
	// Previous is the request kept earlier under the caller's idempotency key, if any.
	Previous(ctx context.Context, caller, key string) (Kept, bool, error)
	// WorkOrder locks the work order as the sorter locks a work order its batch reads, so a transfer either
	// committed before (and the unit read here is the new one) or waits for this transaction.
	WorkOrder(ctx context.Context, regNo string) (WorkOrder, error)
	// Signed says whether a sign-for was kept for the work order in the unit.
	Signed(ctx context.Context, registrationID, unit string) (bool, error)
	// PersonnelUnit is the unit of a personnel row the store holds (not soft-deleted); "" when none.
	PersonnelUnit(ctx context.Context, personnelID string) (string, error)
	// InDictionary says whether the data dictionary Wuhan holds has the code under the type.
	InDictionary(ctx context.Context, dictType, code string) (bool, error)
	// Keep writes the request, its events (in outbox order) and its hop; ErrDuplicate when another request
	// under the same caller and key committed meanwhile.
	Keep(ctx context.Context, k Kept, out []events.Distribution, hop events.Hop) error
}

// WorkOrder is where a work order is now, as the store knows it.
type WorkOrder struct {
	Found          bool // the store holds it: it is Wuhan's now
	RegistrationID string
	Unit           string
	HandleDeptID   string
	Status         string
	HandlerID      string
	// LeftWuhan says the store held it once and it has been forwarded out of Wuhan since.
	LeftWuhan bool
}

// Kept is an accepted request as the store keeps it.
type Kept struct {
	RequestID      string
	Caller         string
	IdempotencyKey string
	Digest         string
	Action         Action
	RegistrationID string
	RegNo          string
	Unit           string
	AcceptedAt     time.Time
	Payload        []byte // the event payload
	Response       []byte // the 202 body
}

// View is a work order with what the gateway accepted for it.
type View struct {
	WorkOrder
	RegNo       string
	Submissions []Submission
	Journey     []events.Hop
}

// Submission is an accepted request and how far it got.
type Submission struct {
	RequestID   string
	Action      Action
	Caller      string
	Unit        string
	AcceptedAt  time.Time
	DeliveredAt *time.Time
	ConfirmedAt *time.Time
	Payload     []byte
}

// Status is accepted, delivered (on the upstream topic) or confirmed (the captured national rows reflect it).
func (s Submission) Status() string {
	switch {
	case s.ConfirmedAt != nil:
		return StatusConfirmed
	case s.DeliveredAt != nil:
		return StatusDelivered
	}
	return StatusAccepted
}

// Submission statuses, wire names of the API.
const (
	StatusAccepted  = "accepted"
	StatusDelivered = "delivered"
	StatusConfirmed = "confirmed"
)

// Errors a Store reports for the gateway to answer on.
var (
	ErrUnauthenticated = errors.New("no live token")
	ErrNoWorkOrder     = errors.New("no such work order")
	ErrDuplicate       = errors.New("idempotency key taken meanwhile")
	// ErrUnavailable wraps a failure to reach the store or a store that did not answer in time: the request was
	// not kept and may be sent again.
	ErrUnavailable = errors.New("store unavailable")
)
