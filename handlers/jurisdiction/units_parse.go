package jurisdiction

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// catalogueFile is the YAML document's shape.
type catalogueFile struct {
	Units []Unit `yaml:"units"`
}

// ParseUnits parses and validates a unit catalogue. An invalid one is refused with every problem listed,
// each naming its unit by index and code, so an operator fixes the file in one pass.
func ParseUnits(data []byte) (*Units, error) {
	list, problems, err := decodeUnits(data)
	if err != nil {
		return nil, fmt.Errorf("unit catalogue: %w", err)
	}
	problems = append(problems, validateUnits(list)...)
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid unit catalogue:\n%w", errors.Join(problems...))
	}
	return newUnits(list), nil
}

// decodeUnits decodes strictly. Unknown fields and wrong types are problems to report alongside the
// validation ones (yaml.v3 goes on decoding after them); only unreadable YAML stops everything.
func decodeUnits(data []byte) ([]Unit, []error, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var file catalogueFile
	err := dec.Decode(&file)
	if errors.Is(err, io.EOF) {
		return nil, nil, errors.New("empty document")
	}
	var typeErr *yaml.TypeError
	if err != nil && !errors.As(err, &typeErr) {
		return nil, nil, err
	}
	return file.Units, attributeYAMLErrors(typeErr, unitSpans(&root), file.Units), nil
}

// lineSpan is the range of source lines one unit occupies.
type lineSpan struct{ first, last int }

// attributeYAMLErrors names the unit each decoding error occurred in; yaml.v3 only gives a line number.
func attributeYAMLErrors(typeErr *yaml.TypeError, spans []lineSpan, list []Unit) []error {
	if typeErr == nil {
		return nil
	}
	errs := make([]error, 0, len(typeErr.Errors))
	for _, msg := range typeErr.Errors {
		i := unitAtLine(spans, yamlErrorLine(msg))
		if i < 0 || i >= len(list) {
			errs = append(errs, errors.New(msg))
			continue
		}
		errs = append(errs, unitError(i, list[i].Code, msg))
	}
	return errs
}

// yamlErrorLine reads the "line N: " prefix yaml.v3 puts on every decoding error; 0 when absent.
func yamlErrorLine(msg string) int {
	var line int
	if _, err := fmt.Sscanf(msg, "line %d:", &line); err != nil {
		return 0
	}
	return line
}

func unitAtLine(spans []lineSpan, line int) int {
	for i, s := range spans {
		if line >= s.first && line <= s.last {
			return i
		}
	}
	return -1
}

// unitSpans finds the lines of each item of the top-level "units" sequence.
func unitSpans(root *yaml.Node) []lineSpan {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "units" {
			return itemSpans(top.Content[i+1])
		}
	}
	return nil
}

func itemSpans(seq *yaml.Node) []lineSpan {
	spans := make([]lineSpan, len(seq.Content))
	for i, item := range seq.Content {
		spans[i] = lineSpan{first: item.Line, last: lastLine(item)}
	}
	return spans
}

func lastLine(n *yaml.Node) int {
	last := n.Line
	for _, c := range n.Content {
		last = max(last, lastLine(c))
	}
	return last
}
