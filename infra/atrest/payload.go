package atrest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"hotline-bridge/events"
)

// WholePayload is the field a whole sealed payload is sealed for (a quarantined row that is no JSON object).
const WholePayload = "*"

// splice replaces the bytes at [at, at+n) of a payload.
type splice struct {
	at, n int
	with  string
}

// Seal seals the personal string fields of a row's JSON payload with the current key, in place: the rest of the
// payload stays byte for byte. What is sealed is the field's JSON string content as the payload carries it,
// escapes and all, so that Open gives back the very bytes sealed. Payloads reach Seal in clear (what the store
// reads back it opens first), so a value that merely looks sealed — typed so by someone upstream — is sealed like
// any other and cannot stop the forwarder. A keyring without a current key, a table without personal fields and
// JSON null leave the payload alone.
func (k *Keyring) Seal(table string, payload []byte) []byte {
	fields := k.personal[table]
	if !k.Sealing() || len(fields) == 0 {
		return payload
	}
	var edits []splice
	for _, f := range fields {
		r := gjson.GetBytes(payload, f)
		if r.Type != gjson.String || r.Index == 0 {
			continue
		}
		content := r.Raw[1 : len(r.Raw)-1]
		edits = append(edits, splice{at: r.Index, n: len(r.Raw), with: `"` + k.sealValue(table, f, []byte(content)) + `"`})
	}
	return apply(payload, edits)
}

// Open gives back the payload as it was before Seal: every sealed personal field opened. A payload without a
// sealed value (kept in clear, or a removal) is returned as it is, at the cost of one scan.
func (k *Keyring) Open(table string, payload []byte) ([]byte, error) {
	if !bytes.Contains(payload, []byte(`"`+Prefix)) {
		return payload, nil
	}
	var edits []splice
	for _, f := range k.personal[table] {
		r := gjson.GetBytes(payload, f)
		if r.Type != gjson.String || r.Index == 0 || !IsSealed(r.Str) {
			continue
		}
		plain, err := k.openValue(table, f, r.Str)
		if err != nil {
			return nil, fmt.Errorf("open %s.%s: %w", table, f, err)
		}
		edits = append(edits, splice{at: r.Index, n: len(r.Raw), with: `"` + string(plain) + `"`})
	}
	return apply(payload, edits), nil
}

func apply(payload []byte, edits []splice) []byte {
	if len(edits) == 0 {
		return payload
	}
	slices.SortFunc(edits, func(a, b splice) int { return a.at - b.at })
	grow := 0
	for _, e := range edits {
		grow += len(e.with) - e.n
	}
	out := make([]byte, 0, len(payload)+grow)
	last := 0
	for _, e := range edits {
		out = append(out, payload[last:e.at]...)
		out = append(out, e.with...)
		last = e.at + e.n
	}
	return append(out, payload[last:]...)
}

// SealQuarantined seals a quarantined row's payload: field by field when it is a JSON object of a known table (so
// that an operator still reads why it was refused), otherwise whole, since nothing says what a payload that is no
// JSON holds. Without a current key it is returned as it is.
func (k *Keyring) SealQuarantined(table string, payload []byte) []byte {
	if !k.Sealing() {
		return payload
	}
	if _, known := events.KindByTable(table); known && gjson.ValidBytes(payload) && gjson.ParseBytes(payload).IsObject() {
		return k.Seal(table, payload)
	}
	return []byte(k.sealValue(table, WholePayload, payload))
}

// Reseal brings a stored payload under the current key: fields sealed under another key are opened and sealed
// again, fields still in clear (kept before encryption was on) are sealed. It reports whether anything changed.
func (k *Keyring) Reseal(table string, payload []byte) ([]byte, bool, error) {
	if !k.Sealing() {
		return nil, false, ErrNotSealing
	}
	var edits []splice
	for _, f := range k.personal[table] {
		r := gjson.GetBytes(payload, f)
		if r.Type != gjson.String || r.Index == 0 {
			continue
		}
		content := r.Raw[1 : len(r.Raw)-1]
		if SealedKeyID(content) == k.current.id {
			continue
		}
		if IsSealed(content) {
			plain, err := k.openValue(table, f, content)
			if err != nil {
				return nil, false, fmt.Errorf("open %s.%s: %w", table, f, err)
			}
			content = string(plain)
		}
		edits = append(edits, splice{at: r.Index, n: len(r.Raw), with: `"` + k.sealValue(table, f, []byte(content)) + `"`})
	}
	return apply(payload, edits), len(edits) > 0, nil
}

// ResealQuarantined is Reseal for a quarantined payload, sealed whole or field by field.
func (k *Keyring) ResealQuarantined(table string, payload []byte) ([]byte, bool, error) {
	if !k.Sealing() {
		return nil, false, ErrNotSealing
	}
	v := string(payload)
	if !IsSealed(v) {
		if _, known := events.KindByTable(table); known && gjson.ValidBytes(payload) && gjson.ParseBytes(payload).IsObject() {
			return k.Reseal(table, payload)
		}
		return []byte(k.sealValue(table, WholePayload, payload)), true, nil
	}
	if SealedKeyID(v) == k.current.id {
		return payload, false, nil
	}
	plain, err := k.openValue(table, WholePayload, v)
	if err != nil {
		return nil, false, fmt.Errorf("open a quarantined %s payload: %w", table, err)
	}
	return []byte(k.sealValue(table, WholePayload, plain)), true, nil
}

// ResealColumn brings one store column's value under the current key. A value in clear is the column's text,
// which is sealed as the JSON string content the payload would carry (see Seal). It reports whether it changed.
func (k *Keyring) ResealColumn(table, field, v string) (string, bool, error) {
	if !k.Sealing() {
		return "", false, ErrNotSealing
	}
	if SealedKeyID(v) == k.current.id {
		return v, false, nil
	}
	content := jsonContent(v)
	if IsSealed(v) {
		plain, err := k.openValue(table, field, v)
		if err != nil {
			return "", false, fmt.Errorf("open %s.%s: %w", table, field, err)
		}
		content = string(plain)
	}
	return k.sealValue(table, field, []byte(content)), true, nil
}

// jsonContent escapes a text as PostgreSQL's to_jsonb writes it (escape_json): what capture's payloads carry.
func jsonContent(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < ' ' {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}
