package events_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"hotline-bridge/events"
)

func TestEnvelopeRoundTripKeepsEveryRowExactly(t *testing.T) {
	at := time.Date(1969, 12, 31, 23, 59, 59, 123456000, time.UTC) // before the epoch: a negative varint
	rows := []events.RowVersion{
		{Table: "subject", ID: "S1", UpdateTime: at, Payload: []byte(`{"id": "S1"}`)},
		{Table: "subject", ID: "S\t2\n", UpdateTime: at.AddDate(130, 0, 0), Payload: []byte(`{"id": "S\t2\n", "name": "武汉某公司"}`)},
		{Table: "subject", ID: "S3", UpdateTime: at, Payload: nil},
	}
	got, err := events.DecodeEnvelope("subject", events.EncodeEnvelope(nil, rows), len(rows))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("decoded %d rows, want %d", len(got), len(rows))
	}
	for i, v := range got {
		w := rows[i]
		if v.Table != w.Table || v.ID != w.ID || !v.UpdateTime.Equal(w.UpdateTime) || string(v.Payload) != string(w.Payload) || v.EventID() != w.EventID() {
			t.Errorf("row %d decoded as %+v, want %+v", i, v, w)
		}
	}
}

func TestMalformedEnvelopeIsRefusedWithItsReason(t *testing.T) {
	good := events.EncodeEnvelope(nil, []events.RowVersion{{ID: "R1", UpdateTime: time.Unix(1, 0), Payload: []byte(`{}`)}})
	for name, tc := range map[string]struct {
		data []byte
		n    int
		want string
	}{
		"truncated":        {good[:len(good)-1], 1, "payload"},
		"garbage":          {[]byte{0xff, 0xff, 0xff}, 1, "id"},
		"count mismatched": {good, 2, "header says 2"},
	} {
		_, err := events.DecodeEnvelope("registration", tc.data, tc.n)
		if !errors.Is(err, events.ErrEnvelope) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want ErrEnvelope mentioning %q", name, err, tc.want)
		}
	}
}
