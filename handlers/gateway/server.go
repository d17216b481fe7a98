package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Config tunes a Server.
type Config struct {
	// Hotline is the caller that acts for any unit (the 12345 hotline); empty: none does.
	Hotline string
	// MaxBody is the largest request body read, in bytes; default 64 KiB.
	MaxBody int64
	// Rate and Burst bound each caller's requests per second; defaults 10 and 20.
	Rate  float64
	Burst int
	// RequestTimeout bounds one request's work, the store's included; default 10s.
	RequestTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.MaxBody == 0 {
		c.MaxBody = 64 << 10
	}
	if c.Rate == 0 {
		c.Rate = 10
	}
	if c.Burst == 0 {
		c.Burst = 20
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBody < 1024 {
		errs = append(errs, fmt.Errorf("max body must be at least 1 KiB, got %d bytes", c.MaxBody))
	}
	if c.Rate <= 0 || c.Burst < 1 {
		errs = append(errs, fmt.Errorf("rate must be positive and burst at least 1, got %g and %d", c.Rate, c.Burst))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("request timeout must be positive, got %s", c.RequestTimeout))
	}
	return errors.Join(errs...)
}

// Server is the gateway's HTTP handler. Every route it answers is an operation of the OpenAPI document, and
// every request is checked against the document before its operation runs.
type Server struct {
	cfg     Config
	store   Store
	log     *slog.Logger
	router  routers.Router
	docJSON []byte
	limits  *limiter
	ops     map[string]operation
}

// call is a request that passed authentication, the limits and validation.
type call struct {
	caller string
	params map[string]string
	key    string // Idempotency-Key
	body   []byte
}

// reply is what an operation answers: a body with its status, or a problem.
type reply struct {
	status   int
	body     []byte
	replayed bool
	problem  *Problem
}

type operation func(ctx context.Context, c call) reply

// NewServer serves doc (see LoadDocument) over store.
func NewServer(cfg Config, doc *openapi3.T, store Store, log *slog.Logger) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	docJSON, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("render the OpenAPI document: %w", err)
	}
	router, err := newRouter(doc)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: store, log: log, router: router, docJSON: docJSON, limits: newLimiter(cfg.Rate, cfg.Burst)}
	s.ops = map[string]operation{
		"getWorkOrder": s.view,
		"healthz":      s.healthz,
		"openapi":      func(context.Context, call) reply { return reply{status: http.StatusOK, body: s.docJSON} },
	}
	for action, spec := range actionSpecs {
		s.ops[spec.operation] = s.submit(action)
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			if s.ops[op.OperationID] == nil {
				return nil, fmt.Errorf("OpenAPI operation %s (%s %s) has no handler", op.OperationID, method, path)
			}
		}
	}
	return s, nil
}

// ServeHTTP finds the operation, authenticates, limits, validates and runs it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	r = r.WithContext(ctx)
	c, op, p := s.admit(w, r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	out := op(ctx, c)
	switch {
	case out.problem != nil:
		writeProblem(w, r, out.problem)
	default:
		if out.replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeJSON(w, out.status, out.body)
	}
}

// admit is every check a request passes before its operation runs, in the order that tells a caller the most
// useful thing first and costs the store least.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (call, operation, *Problem) {
	route, params, err := s.router.FindRoute(r)
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return call{}, nil, problem(ProblemMethod, "%s is not an operation of this path", r.Method)
	case err != nil:
		return call{}, nil, problem(ProblemNoRoute, "no operation of the API has this path")
	}
	c := call{params: params}
	if secured(route.Operation) {
		if c.caller, err = s.authenticate(r); err != nil {
			return c, nil, s.failure(route.Operation.OperationID, err)
		}
		if wait, ok := s.limits.allow(c.caller); !ok {
			p := problem(ProblemRateLimited, "caller %s is over %g requests a second", c.caller, s.cfg.Rate)
			p.retryAfter = wait
			return c, nil, p
		}
	}
	if r.Method == http.MethodPost {
		if p := s.readBody(w, r, &c); p != nil {
			return c, nil, p
		}
	}
	input := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: validateOptions}
	if err := openapi3filter.ValidateRequest(r.Context(), input); err != nil {
		return c, nil, validationProblem(err)
	}
	return c, s.ops[route.Operation.OperationID], nil
}

func (s *Server) authenticate(r *http.Request) (string, error) {
	token := bearer(r.Header.Get("Authorization"))
	if token == "" {
		return "", problem(ProblemUnauthenticated, "send Authorization: Bearer <token>")
	}
	caller, err := s.store.Authenticate(r.Context(), HashToken(token), s.cfg.Now())
	if errors.Is(err, ErrUnauthenticated) {
		return "", problem(ProblemUnauthenticated, "the token is unknown, expired or revoked")
	}
	return caller, err
}

// readBody reads a POST's body within the size limit and checks its key and media type; the body is put back
// for validation.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, c *call) *Problem {
	if c.key = r.Header.Get("Idempotency-Key"); c.key == "" {
		return problem(ProblemKeyMissing, "send an Idempotency-Key header, unique per request meant once")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return problem(ProblemMediaType, "send Content-Type: application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return problem(ProblemTooLarge, "the body is over %d bytes", s.cfg.MaxBody)
	case err != nil:
		return problem(ProblemMalformed, "the body could not be read")
	}
	c.body = body
	r.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}

// failure turns an error into the problem a caller sees, logging what the caller is not told (once, here).
func (s *Server) failure(operation string, err error) *Problem {
	var p *Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("gateway request not kept: the store is unavailable", "operation", operation, "error", err)
		return problem(ProblemStoreUnavailable, "the store did not answer; the request was not kept")
	default:
		s.log.Error("gateway request failed", "operation", operation, "error", err)
		return problem(ProblemInternal, "the request was not kept")
	}
}

func (s *Server) healthz(ctx context.Context, _ call) reply {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return reply{problem: s.failure("healthz", fmt.Errorf("%w: %w", ErrUnavailable, err))}
	}
	return reply{status: http.StatusOK, body: []byte(`{"status":"ok"}`)}
}
