package signing_test

import (
	"errors"
	"fmt"
	"time"

	"hotline-bridge/events/signing"
)

// A district reads the keys topic into a KeySet, then checks each event it consumes before applying it.
func ExampleKeySet_Verify() {
	bridgeKey, _ := signing.GenerateKey(signing.Ed25519) // the bridge's; a district only ever sees the public half
	published, _ := signing.NewKeySet(bridgeKey.PublicKey(time.Now()))

	headers := map[string]string{"ce_id": "e5100dbda858ff631081270192c83271", "ce_type": "registration.upserted",
		"ce_subject": "R1", "ce_time": "2026-11-26T15:58:31.557583Z"}
	record := signing.Record{Headers: headers, Key: []byte("R1"), Value: []byte(`{"id": "R1"}`)}
	headers[signing.HeaderSignature], _ = bridgeKey.SignHeader(record.Event()) // what the bridge does
	headers[signing.HeaderSignatureKeyID] = bridgeKey.ID

	fmt.Println("as sent:", published.Verify(record) == nil)
	record.Value = []byte(`{"id": "R2"}`)
	fmt.Println("tampered:", errors.Is(published.Verify(record), signing.ErrBadSignature))
	// Output:
	// as sent: true
	// tampered: true
}
