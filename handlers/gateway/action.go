package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"hotline-bridge/events"
)

// Action is what a POST asks for; its wire name is the API's and the audit trail's.
type Action string

// The gateway's actions.
const (
	ActionSign            Action = "sign"
	ActionInitialFeedback Action = "initial_feedback"
	ActionFinalFeedback   Action = "final_feedback"
)

// actionSpec is everything that differs between the actions: the OpenAPI operation that asks for it, the event
// it becomes, the dictionary type its result code is checked against, and how its body reads.
type actionSpec struct {
	operation string
	eventType string
	dictType  string // "" for none
	decode    func(body []byte) (Fields, error)
}

var actionSpecs = map[Action]actionSpec{
	ActionSign:            {"signWorkOrder", events.EventRegistrationSigned, "", decodeSign},
	ActionInitialFeedback: {"submitInitialFeedback", events.EventInitialFeedbackSubmitted, "initial_result", decodeInitial},
	ActionFinalFeedback:   {"submitFinalFeedback", events.EventFinalFeedbackSubmitted, "final_result", decodeFinal},
}

// EventType is the ce_type of the events the action becomes.
func (a Action) EventType() string { return actionSpecs[a].eventType }

// Fields are a request's values, whatever the action; a time left out is filled in when the request is accepted.
type Fields struct {
	PersonnelID     string // personnel_id of a sign-for, handler_id of feedback
	DeptID          string
	Result          string
	Content         *string
	RecoveredAmount *json.Number
	At              *time.Time // signed_at, feedback_at or finished_at
}

type signBody struct {
	PersonnelID string     `json:"personnel_id"`
	SignedAt    *time.Time `json:"signed_at"`
}

type initialBody struct {
	HandlerID  string     `json:"handler_id"`
	DeptID     string     `json:"dept_id"`
	Result     string     `json:"result"`
	Content    *string    `json:"content"`
	FeedbackAt *time.Time `json:"feedback_at"`
}

type finalBody struct {
	HandlerID       string       `json:"handler_id"`
	DeptID          string       `json:"dept_id"`
	Result          string       `json:"result"`
	RecoveredAmount *json.Number `json:"recovered_amount"`
	Content         *string      `json:"content"`
	FinishedAt      *time.Time   `json:"finished_at"`
}

// errBody is a body that the OpenAPI schema let through but the gateway cannot read as its action's; the schema
// is the first guard, this the second, so that no body reaches the store half-understood.
var errBody = errors.New("body does not fit the operation's schema")

func decodeStrict(body []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return errBody
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBody
	}
	return nil
}

func decodeSign(body []byte) (Fields, error) {
	var b signBody
	if err := decodeStrict(body, &b); err != nil || b.PersonnelID == "" {
		return Fields{}, errBody
	}
	return Fields{PersonnelID: b.PersonnelID, At: b.SignedAt}, nil
}

func decodeInitial(body []byte) (Fields, error) {
	var b initialBody
	if err := decodeStrict(body, &b); err != nil || b.HandlerID == "" || b.Result == "" || hasNUL(b.Content) {
		return Fields{}, errBody
	}
	return Fields{PersonnelID: b.HandlerID, DeptID: b.DeptID, Result: b.Result, Content: b.Content, At: b.FeedbackAt}, nil
}

func decodeFinal(body []byte) (Fields, error) {
	var b finalBody
	if err := decodeStrict(body, &b); err != nil || b.HandlerID == "" || b.Result == "" || hasNUL(b.Content) {
		return Fields{}, errBody
	}
	if b.RecoveredAmount != nil && !cents(*b.RecoveredAmount) {
		return Fields{}, fmt.Errorf("%w: recovered_amount has more than two decimals", errBody)
	}
	return Fields{PersonnelID: b.HandlerID, DeptID: b.DeptID, Result: b.Result, Content: b.Content,
		RecoveredAmount: b.RecoveredAmount, At: b.FinishedAt}, nil
}

// hasNUL says free text holds a NUL character, which JSON allows and PostgreSQL's text and jsonb refuse; the
// other fields' patterns exclude it already.
func hasNUL(s *string) bool { return s != nil && strings.ContainsRune(*s, 0) }

// cents says the amount fits numeric(14,2) upstream: a whole number of fen, read exactly (never as a float).
func cents(n json.Number) bool {
	r, ok := new(big.Rat).SetString(n.String())
	return ok && r.Sign() >= 0 && new(big.Rat).Mul(r, big.NewRat(100, 1)).IsInt()
}

// digest names a request's content: the action, the work order and the body with its keys in order and its
// spacing gone, so that a retry re-encoded by another JSON library still matches.
func digest(action Action, regNo string, body []byte) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	canonical := body
	if dec.Decode(&v) == nil {
		canonical, _ = json.Marshal(v) // decoded JSON: Marshal cannot fail
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", action, regNo)
	h.Write(canonical)
	return hex.EncodeToString(h.Sum(nil))
}

// notice is what every gateway event carries about its request.
type notice struct {
	RequestID      string `json:"request_id"`
	RegNo          string `json:"reg_no"`
	RegistrationID string `json:"registration_id"`
	UnitCode       string `json:"unit_code"`
	Caller         string `json:"caller"`
	AcceptedAt     string `json:"accepted_at"`
}

type signedPayload struct {
	notice
	PersonnelID string `json:"personnel_id"`
	SignedAt    string `json:"signed_at"`
}

type initialPayload struct {
	notice
	DeptID     string  `json:"dept_id"`
	HandlerID  string  `json:"handler_id"`
	Result     string  `json:"result"`
	Content    *string `json:"content"`
	FeedbackAt string  `json:"feedback_at"`
}

type finalPayload struct {
	notice
	DeptID          string       `json:"dept_id"`
	HandlerID       string       `json:"handler_id"`
	Result          string       `json:"result"`
	RecoveredAmount *json.Number `json:"recovered_amount"`
	Content         *string      `json:"content"`
	FinishedAt      string       `json:"finished_at"`
}

// payload is the event an accepted request becomes, the same on the unit's topic and on the upstream topic; the
// columns are named as the national platform's tables name them.
func payload(action Action, n notice, f Fields) []byte {
	at := events.FormatTime(*f.At)
	var v any
	switch action {
	case ActionSign:
		v = signedPayload{notice: n, PersonnelID: f.PersonnelID, SignedAt: at}
	case ActionInitialFeedback:
		v = initialPayload{notice: n, DeptID: f.DeptID, HandlerID: f.PersonnelID, Result: f.Result, Content: f.Content, FeedbackAt: at}
	default:
		v = finalPayload{notice: n, DeptID: f.DeptID, HandlerID: f.PersonnelID, Result: f.Result,
			RecoveredAmount: f.RecoveredAmount, Content: f.Content, FinishedAt: at}
	}
	out, _ := json.Marshal(v) // plain values: Marshal cannot fail
	return out
}
