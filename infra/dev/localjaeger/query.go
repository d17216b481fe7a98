package localjaeger

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Trace is a trace as Jaeger's query API (/api/traces) returns it.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
}

// Process is the resource spans came from.
type Process struct {
	ServiceName string `json:"serviceName"`
}

// Service is the service name of a span of the trace.
func (t Trace) Service(s Span) string { return t.Processes[s.ProcessID].ServiceName }

// Span is one span of a Trace; attributes are Jaeger tags.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	Tags          []Tag       `json:"tags"`
	ProcessID     string      `json:"processID"`
}

// Reference is a parent (CHILD_OF) or a link (FOLLOWS_FROM).
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// Tag is one attribute; Value is a string, number or bool as JSON has it.
type Tag struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Parent is the span id of the CHILD_OF reference; empty for a root span.
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// Tag is the value of the attribute key rendered as text ("" when absent).
func (s Span) Tag(key string) string {
	for _, t := range s.Tags {
		if t.Key == key {
			return fmt.Sprint(t.Value)
		}
	}
	return ""
}

// GetTrace reads one trace by id; found is false while Jaeger has none of its spans.
func (j *Jaeger) GetTrace(ctx context.Context, traceID string) (t Trace, found bool, err error) {
	traces, err := j.get(ctx, "/api/traces/"+url.PathEscape(traceID))
	if err != nil || len(traces) == 0 {
		return Trace{}, false, err
	}
	return traces[0], true, nil
}

// FindTraces searches the traces of service that hold an operation, newest first, up to limit.
func (j *Jaeger) FindTraces(ctx context.Context, service, operation string, limit int) ([]Trace, error) {
	q := url.Values{"service": {service}, "operation": {operation}, "limit": {fmt.Sprint(limit)}, "lookback": {"1h"}}
	return j.get(ctx, "/api/traces?"+q.Encode())
}

func (j *Jaeger) get(ctx context.Context, path string) ([]Trace, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.QueryURL()+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jaeger query %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jaeger query %s: %s", path, resp.Status)
	}
	var body struct {
		Data []Trace `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("jaeger query %s: %w", path, err)
	}
	return body.Data, nil
}
