package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"hotline-bridge/events"
)

// request is a POST as the gateway decides it.
type request struct {
	action Action
	regNo  string
	caller string
	key    string
	digest string
	fields Fields
}

// accepted is the 202 body, kept with the request and returned again to a retry.
type accepted struct {
	RequestID  string `json:"request_id"`
	Action     Action `json:"action"`
	RegNo      string `json:"reg_no"`
	UnitCode   string `json:"unit_code"`
	Status     string `json:"status"`
	AcceptedAt string `json:"accepted_at"`
}

// submit is the operation of one action: decide the request in one store transaction, and once more should
// another request under the same key have committed meanwhile (then this one finds it and replays it).
func (s *Server) submit(action Action) operation {
	return func(ctx context.Context, c call) reply {
		fields, err := actionSpecs[action].decode(c.body)
		if err != nil {
			return reply{problem: problem(ProblemMalformed, "%v", err)}
		}
		q := request{action: action, regNo: c.params["reg_no"], caller: c.caller, key: c.key,
			digest: digest(action, c.params["reg_no"], c.body), fields: fields}
		for attempt := 0; ; attempt++ {
			out, err := s.decide(ctx, q)
			if errors.Is(err, ErrDuplicate) && attempt < 2 {
				continue
			}
			if err != nil {
				return reply{problem: s.failure(actionSpecs[action].operation, err)}
			}
			return out
		}
	}
}

// decide runs every check and keeps the request with its events and hop, in one transaction; a refusal rolls
// it back with nothing written.
func (s *Server) decide(ctx context.Context, q request) (out reply, err error) {
	err = s.store.Apply(ctx, func(tx Tx) error {
		prev, found, err := tx.Previous(ctx, q.caller, q.key)
		if err != nil {
			return err
		}
		if found {
			out, err = replay(prev, q)
			return err
		}
		wo, err := tx.WorkOrder(ctx, q.regNo)
		if err != nil {
			return err
		}
		if err := s.authorise(q.caller, q.regNo, wo); err != nil {
			return err
		}
		if err := check(ctx, tx, q, wo); err != nil {
			return err
		}
		kept, outbound, hop := s.accept(q, wo)
		out = reply{status: http.StatusAccepted, body: kept.Response}
		return tx.Keep(ctx, kept, outbound, hop)
	})
	return out, err
}

// replay answers a request sent again under its key: the stored response when it is the same request, a
// refusal when the key was used for another.
func replay(prev Kept, q request) (reply, error) {
	if prev.Digest != q.digest {
		return reply{}, problem(ProblemKeyReused, "this Idempotency-Key was used by request %s with another body or work order; choose a new key for a new request", prev.RequestID)
	}
	return reply{status: http.StatusAccepted, body: prev.Response, replayed: true}, nil
}

// authorise lets a unit act on the work orders in its unit only, and the hotline on any of Wuhan's.
func (s *Server) authorise(caller, regNo string, wo WorkOrder) error {
	switch {
	case !wo.Found && wo.LeftWuhan:
		return problem(ProblemLeftWuhan, "work order %s has been forwarded out of Wuhan; no unit of Wuhan may act on it", regNo)
	case !wo.Found:
		return problem(ProblemNotFound, "work order %s is not in Wuhan's store (not Wuhan's, or not captured yet)", regNo)
	case caller != wo.Unit && !(s.cfg.Hotline != "" && caller == s.cfg.Hotline):
		return problem(ProblemOtherUnit, "work order %s is now in unit %s; a token of %s acts only on its own unit's work orders", regNo, wo.Unit, caller)
	}
	return nil
}

// check holds a request to what the store knows: the clerk is of the work order's unit, the result code is in
// the dictionary, and a work order is signed for once in a unit (values first: a wrong one is the caller's to
// fix whatever the work order's state).
func check(ctx context.Context, tx Tx, q request, wo WorkOrder) error {
	unit, err := tx.PersonnelUnit(ctx, q.fields.PersonnelID)
	if err != nil {
		return err
	}
	if unit != wo.Unit {
		return problem(ProblemInvalidValue, "%s is not a clerk of unit %s in Wuhan's store", personnelField(q.action), wo.Unit)
	}
	if dictType := actionSpecs[q.action].dictType; dictType != "" {
		ok, err := tx.InDictionary(ctx, dictType, q.fields.Result)
		if err != nil {
			return err
		}
		if !ok {
			return problem(ProblemInvalidValue, "result is not a code of the dictionary type %s", dictType)
		}
	}
	if q.action == ActionSign {
		signed, err := tx.Signed(ctx, wo.RegistrationID, wo.Unit)
		if err != nil {
			return err
		}
		if signed {
			return problem(ProblemAlreadySigned, "work order %s is already signed for in unit %s", q.regNo, wo.Unit)
		}
	}
	return nil
}

func personnelField(a Action) string {
	if a == ActionSign {
		return "personnel_id"
	}
	return "handler_id"
}

// accept makes the request's record, its two events (the unit's topic, then the upstream topic; both keyed by
// the work order, so they stay in order with its family's events) and its audit hop.
func (s *Server) accept(q request, wo WorkOrder) (Kept, []events.Distribution, events.Hop) {
	at := s.cfg.Now().UTC().Truncate(time.Microsecond) // PostgreSQL's precision: what is kept is what was said
	f := q.fields
	if f.At == nil {
		f.At = &at
	}
	if f.DeptID == "" {
		f.DeptID = wo.HandleDeptID
	}
	id := newRequestID()
	n := notice{RequestID: id, RegNo: q.regNo, RegistrationID: wo.RegistrationID, UnitCode: wo.Unit, Caller: q.caller,
		AcceptedAt: events.FormatTime(at)}
	body := payload(q.action, n, f)
	response, _ := json.Marshal(accepted{RequestID: id, Action: q.action, RegNo: q.regNo, UnitCode: wo.Unit,
		Status: StatusAccepted, AcceptedAt: n.AcceptedAt}) // plain values: Marshal cannot fail
	kept := Kept{RequestID: id, Caller: q.caller, IdempotencyKey: q.key, Digest: q.digest, Action: q.action,
		RegistrationID: wo.RegistrationID, RegNo: q.regNo, Unit: wo.Unit, AcceptedAt: at, Payload: body, Response: response}
	var outbound []events.Distribution
	for _, unit := range []string{wo.Unit, events.UpstreamUnit} {
		outbound = append(outbound, events.Distribution{EventID: eventID(id, unit), Unit: unit, Type: q.action.EventType(),
			Table: events.GatewayTable, RowID: id, Key: wo.RegistrationID, RowTime: at, Payload: body})
	}
	hop := events.Hop{Hop: events.HopAccepted, At: at, Table: events.GatewayTable, RowID: id, Version: at, Unit: wo.Unit,
		Registration: wo.RegistrationID, RegNo: q.regNo,
		Detail: &events.HopDetail{Event: q.action.EventType(), Caller: q.caller}}
	return kept, outbound, hop
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand never fails (Go 1.24+)
	return "gw-" + hex.EncodeToString(b)
}

// eventID is the ce_id of a request's event to one destination: stable, so a re-send dedupes.
func eventID(requestID, unit string) string {
	sum := sha256.Sum256([]byte(requestID + "\x00" + unit))
	return hex.EncodeToString(sum[:16])
}
