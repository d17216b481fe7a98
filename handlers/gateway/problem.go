package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Problem is an RFC 9457 problem detail. Its Type is stable: callers branch on it, never on Title or Detail.
// Detail names fields, codes and units, never a value a caller sent (it may be personal data) and never SQL.
type Problem struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Status     int    `json:"status"`
	Detail     string `json:"detail,omitempty"`
	Instance   string `json:"instance,omitempty"`
	retryAfter int    // seconds, for 429
}

func (p *Problem) Error() string { return p.Type + ": " + p.Detail }

// problemKind is one stable problem type with its status and title.
type problemKind struct {
	slug   string
	status int
	title  string
}

// The problem types; "/problems/<slug>" is their type URI. Wire names: never rename one.
var (
	ProblemMalformed        = problemKind{"malformed-request", http.StatusBadRequest, "The request does not fit the API"}
	ProblemKeyMissing       = problemKind{"idempotency-key-missing", http.StatusBadRequest, "Idempotency-Key is required on POST"}
	ProblemUnauthenticated  = problemKind{"unauthenticated", http.StatusUnauthorized, "A valid bearer token is required"}
	ProblemOtherUnit        = problemKind{"work-order-of-another-unit", http.StatusForbidden, "The work order is not in the caller's unit"}
	ProblemNotFound         = problemKind{"work-order-not-found", http.StatusNotFound, "Wuhan's store holds no such work order"}
	ProblemNoRoute          = problemKind{"not-found", http.StatusNotFound, "No such resource"}
	ProblemMethod           = problemKind{"method-not-allowed", http.StatusMethodNotAllowed, "Method not allowed here"}
	ProblemLeftWuhan        = problemKind{"work-order-left-wuhan", http.StatusConflict, "The work order has been forwarded out of Wuhan"}
	ProblemAlreadySigned    = problemKind{"already-signed", http.StatusConflict, "The work order is already signed for in this unit"}
	ProblemTooLarge         = problemKind{"body-too-large", http.StatusRequestEntityTooLarge, "The request body is too large"}
	ProblemMediaType        = problemKind{"unsupported-media-type", http.StatusUnsupportedMediaType, "The body must be application/json"}
	ProblemKeyReused        = problemKind{"idempotency-key-reused", http.StatusUnprocessableEntity, "The Idempotency-Key was used for another request"}
	ProblemInvalidValue     = problemKind{"invalid-value", http.StatusUnprocessableEntity, "A value is not one the store knows for this work order"}
	ProblemRateLimited      = problemKind{"rate-limited", http.StatusTooManyRequests, "Too many requests from this caller"}
	ProblemStoreUnavailable = problemKind{"store-unavailable", http.StatusServiceUnavailable, "Wuhan's store cannot be reached; nothing was kept, send it again"}
	ProblemInternal         = problemKind{"internal", http.StatusInternalServerError, "The gateway failed; nothing was kept"}
)

// problem makes a problem of the kind; format and args say which field, code or unit, never a caller's value.
func problem(k problemKind, format string, args ...any) *Problem {
	return &Problem{Type: "/problems/" + k.slug, Title: k.title, Status: k.status, Detail: fmt.Sprintf(format, args...)}
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	p.Instance = r.URL.Path
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="hotline-bridge gateway"`)
	}
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // the caller gone: nothing to do about it
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
