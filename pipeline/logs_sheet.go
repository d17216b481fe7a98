package pipeline

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// sheet writes rows of values (strings, numbers, nil) under a header, as aligned text, JSON lines or CSV.
type sheet interface {
	Header(columns []string)
	Row(values ...any)
	Flush() error
}

func newSheet(w io.Writer, format string) sheet {
	switch format {
	case "json":
		return &jsonSheet{w: w}
	case "csv":
		return &csvSheet{w: csv.NewWriter(w)}
	}
	return &textSheet{w: tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)}
}

// textSheet aligns columns for a person; nil shows as "-".
type textSheet struct {
	w    *tabwriter.Writer
	rows int
	err  error
}

func (s *textSheet) Header(columns []string) { s.line(toAny(columns)) }

func (s *textSheet) Row(values ...any) {
	s.rows++
	s.line(values)
}

func (s *textSheet) line(values []any) {
	var b bytes.Buffer
	for _, v := range values {
		if v == nil {
			v = "-"
		}
		fmt.Fprintf(&b, "%v\t", v)
	}
	b.WriteByte('\n')
	if _, err := s.w.Write(b.Bytes()); err != nil && s.err == nil {
		s.err = err
	}
}

func (s *textSheet) Flush() error {
	if s.err != nil {
		return s.err
	}
	if s.rows == 0 {
		fmt.Fprintln(s.w, "no entries in this range\t")
	}
	return s.w.Flush()
}

// jsonSheet writes one object a row, keys in column order, nil as null.
type jsonSheet struct {
	w       io.Writer
	columns []string
	err     error
}

func (s *jsonSheet) Header(columns []string) { s.columns = columns }

func (s *jsonSheet) Row(values ...any) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, v := range values {
		key, _ := json.Marshal(s.columns[i])
		value, err := json.Marshal(v)
		if err != nil && s.err == nil {
			s.err = err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteString("}\n")
	if _, err := s.w.Write(b.Bytes()); err != nil && s.err == nil {
		s.err = err
	}
}

func (s *jsonSheet) Flush() error { return s.err }

// csvSheet writes the header, then a record a row; nil is an empty field.
type csvSheet struct{ w *csv.Writer }

func (s *csvSheet) Header(columns []string) { _ = s.w.Write(columns) }

func (s *csvSheet) Row(values ...any) {
	record := make([]string, len(values))
	for i, v := range values {
		if v != nil {
			record[i] = fmt.Sprint(v)
		}
	}
	_ = s.w.Write(record) // csv.Writer keeps the first error for Flush
}

func (s *csvSheet) Flush() error {
	s.w.Flush()
	return s.w.Error()
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
