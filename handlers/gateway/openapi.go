package gateway

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"hotline-bridge/schemas"
)

// LoadDocument reads and checks the gateway's OpenAPI document, embedded from schemas/gateway/openapi.yaml.
func LoadDocument(ctx context.Context) (*openapi3.T, error) {
	data, err := fs.ReadFile(schemas.Gateway, schemas.GatewayOpenAPI)
	if err != nil {
		return nil, fmt.Errorf("read the gateway's OpenAPI document: %w", err)
	}
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", schemas.GatewayOpenAPI, err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("check %s: %w", schemas.GatewayOpenAPI, err)
	}
	return doc, nil
}

// newRouter routes by the document's paths on whatever host the gateway listens on: the servers it lists are
// for readers, not a filter.
func newRouter(doc *openapi3.T) (routers.Router, error) {
	routed := *doc
	routed.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(&routed)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", schemas.GatewayOpenAPI, err)
	}
	return router, nil
}

// secured says whether the operation asks for the bearer token: unless it says otherwise, the document's
// security applies.
func secured(op *openapi3.Operation) bool { return op.Security == nil || len(*op.Security) > 0 }

var validateOptions = &openapi3filter.Options{
	AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, // the gateway authenticates before it validates
}

// fieldName is a pointer segment the detail may show: a property name of the document's, never a caller's value.
var fieldName = regexp.MustCompile(`^[a-z_]{1,32}$`)

// validationProblem says which parameter or body field does not fit and which keyword it fails, never the value.
func validationProblem(err error) *Problem {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return problem(ProblemMalformed, "the request does not fit the API")
	}
	if re.Parameter != nil {
		if re.Err == nil && strings.Contains(re.Reason, "missing") {
			return problem(ProblemMalformed, "%s parameter %s is required", re.Parameter.In, re.Parameter.Name)
		}
		return problem(ProblemMalformed, "%s parameter %s does not fit its schema", re.Parameter.In, re.Parameter.Name)
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return problem(ProblemMalformed, "body field %s fails %q", pointer(se.JSONPointer()), se.SchemaField)
	}
	return problem(ProblemMalformed, "the body is missing or is not a JSON object")
}

func pointer(segments []string) string {
	shown := make([]string, len(segments))
	for i, s := range segments {
		if !fieldName.MatchString(s) {
			s = "…"
		}
		shown[i] = s
	}
	return "/" + strings.Join(shown, "/")
}
