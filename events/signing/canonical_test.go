package signing_test

import (
	"bytes"
	"testing"

	"hotline-bridge/events"
	"hotline-bridge/events/signing"
)

// The encoding is a contract for districts that verify in another language: these bytes must never change.
func TestCanonicalEncodingIsLengthPrefixedFieldsAfterTheDomain(t *testing.T) {
	e := signing.Event{ID: "e5100dbd", Type: "registration.upserted", Subject: "R1",
		Time: "2026-11-26T15:58:31.557583Z", Key: []byte("R1"), Value: []byte(`{"id":"R1"}`)}
	want := "hotline-bridge/ce_signature/v1" +
		"\x00\x00\x00\x08e5100dbd" +
		"\x00\x00\x00\x15registration.upserted" +
		"\x00\x00\x00\x02R1" +
		"\x00\x00\x00\x1b2026-11-26T15:58:31.557583Z" +
		"\x00\x00\x00\x02R1" +
		"\x00\x00\x00\x0b{\"id\":\"R1\"}"
	if got := string(e.Canonical()); got != want {
		t.Fatalf("canonical encoding\n got %q\nwant %q", got, want)
	}
}

func TestCanonicalEncodingTellsFieldBoundariesAndEmptyFieldsApart(t *testing.T) {
	base := signing.Event{ID: "ab", Type: "t", Subject: "s", Time: "x", Key: []byte("k"), Value: []byte("v")}
	variants := map[string]signing.Event{
		"a byte moved from id to type":     {ID: "a", Type: "bt", Subject: "s", Time: "x", Key: []byte("k"), Value: []byte("v")},
		"a byte moved from key to value":   {ID: "ab", Type: "t", Subject: "s", Time: "x", Key: nil, Value: []byte("kv")},
		"subject and time swapped":         {ID: "ab", Type: "t", Subject: "x", Time: "s", Key: []byte("k"), Value: []byte("v")},
		"value empty, key holding it":      {ID: "ab", Type: "t", Subject: "s", Time: "x", Key: []byte("kv")},
		"a trailing byte in the value":     {ID: "ab", Type: "t", Subject: "s", Time: "x", Key: []byte("k"), Value: []byte("v\x00")},
		"the key's bytes in the subject":   {ID: "ab", Type: "t", Subject: "sk", Time: "x", Value: []byte("v")},
		"nothing but the id, at its right": {ID: "abtsxkv"},
	}
	for name, v := range variants {
		if bytes.Equal(v.Canonical(), base.Canonical()) {
			t.Errorf("%s: same encoding as %+v", name, base)
		}
	}
	if !bytes.Equal((signing.Event{Key: nil}).Canonical(), (signing.Event{Key: []byte{}}).Canonical()) {
		t.Error("a null key and an empty key must encode alike: Kafka clients disagree on which they hand out")
	}
}

// The package repeats the contract's header names so that a district can copy it alone; they must agree.
func TestHeaderNamesAgreeWithTheContract(t *testing.T) {
	h := map[string]string{events.HeaderID: "i", events.HeaderType: "t", events.HeaderSubject: "s", events.HeaderTime: "x"}
	got := signing.Record{Headers: h, Key: []byte("k"), Value: []byte("v")}.Event()
	want := signing.Event{ID: "i", Type: "t", Subject: "s", Time: "x", Key: []byte("k"), Value: []byte("v")}
	if !bytes.Equal(got.Canonical(), want.Canonical()) {
		t.Fatalf("Record.Event() = %+v, want %+v", got, want)
	}
	if signing.HeaderSignature != events.HeaderSignature || signing.HeaderSignatureKeyID != events.HeaderSignatureKeyID {
		t.Fatalf("signature headers %q/%q, the contract says %q/%q", signing.HeaderSignature, signing.HeaderSignatureKeyID,
			events.HeaderSignature, events.HeaderSignatureKeyID)
	}
}
