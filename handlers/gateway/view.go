package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"hotline-bridge/events"
)

// workOrderBody is GET /v1/work-orders/{reg_no}.
type workOrderBody struct {
	RegNo          string           `json:"reg_no"`
	RegistrationID string           `json:"registration_id"`
	UnitCode       string           `json:"unit_code"`
	Status         *string          `json:"status"`
	HandlerID      *string          `json:"handler_id"`
	Signed         bool             `json:"signed"`
	Submissions    []submissionBody `json:"submissions"`
	Journey        []hopBody        `json:"journey"`
}

type submissionBody struct {
	RequestID   string          `json:"request_id"`
	Action      Action          `json:"action"`
	Caller      string          `json:"caller"`
	Status      string          `json:"status"`
	AcceptedAt  time.Time       `json:"accepted_at"`
	DeliveredAt *time.Time      `json:"delivered_at"`
	ConfirmedAt *time.Time      `json:"confirmed_at"`
	Body        json.RawMessage `json:"body"`
}

type hopBody struct {
	Hop       string            `json:"hop"`
	At        time.Time         `json:"at"`
	Table     string            `json:"table"`
	ID        string            `json:"id"`
	Unit      string            `json:"unit,omitempty"`
	Topic     string            `json:"topic,omitempty"`
	Partition *int32            `json:"partition,omitempty"`
	Offset    *int64            `json:"offset,omitempty"`
	Detail    *events.HopDetail `json:"detail,omitempty"`
}

// view answers with the work order as the store holds it, to the callers that may act on it.
func (s *Server) view(ctx context.Context, c call) reply {
	regNo := c.params["reg_no"]
	v, err := s.store.View(ctx, regNo)
	if errors.Is(err, ErrNoWorkOrder) {
		err = nil // authorise names it: not found, or forwarded out of Wuhan
	}
	if err == nil {
		err = s.authorise(c.caller, regNo, v.WorkOrder)
	}
	if err != nil {
		return reply{problem: s.failure("getWorkOrder", err)}
	}
	body, _ := json.Marshal(workOrderBodyOf(regNo, v)) // plain values: Marshal cannot fail
	return reply{status: http.StatusOK, body: body}
}

func workOrderBodyOf(regNo string, v View) workOrderBody {
	out := workOrderBody{RegNo: regNo, RegistrationID: v.RegistrationID, UnitCode: v.Unit, Status: orNull(v.Status),
		HandlerID: orNull(v.HandlerID), Submissions: []submissionBody{}, Journey: []hopBody{}}
	for _, sub := range v.Submissions {
		out.Signed = out.Signed || (sub.Action == ActionSign && sub.Unit == v.Unit)
		out.Submissions = append(out.Submissions, submissionBody{RequestID: sub.RequestID, Action: sub.Action,
			Caller: sub.Caller, Status: sub.Status(), AcceptedAt: sub.AcceptedAt, DeliveredAt: sub.DeliveredAt,
			ConfirmedAt: sub.ConfirmedAt, Body: sub.Payload})
	}
	for _, h := range v.Journey {
		out.Journey = append(out.Journey, hopBody{Hop: h.Hop, At: h.At, Table: h.Table, ID: h.RowID, Unit: h.Unit,
			Topic: h.Topic, Partition: h.Partition, Offset: h.Offset, Detail: h.Detail})
	}
	return out
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
