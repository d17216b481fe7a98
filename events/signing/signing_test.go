package signing_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline-bridge/events/signing"
)

func sampleRecord() signing.Record {
	return signing.Record{
		Headers: map[string]string{"ce_id": "e5100dbda858ff631081270192c83271", "ce_type": "registration.upserted",
			"ce_subject": "R1", "ce_time": "2026-11-26T15:58:31.557583Z", "ce_source": "/wuhan12315/hotline-bridge"},
		Key: []byte("R1"), Value: []byte(`{"id": "R1", "phone": "13800001234"}`),
	}
}

// signed is r signed by key, as the bridge sends it.
func signed(t testing.TB, key *signing.PrivateKey, r signing.Record) signing.Record {
	t.Helper()
	sig, err := key.SignHeader(r.Event())
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{signing.HeaderSignature: sig, signing.HeaderSignatureKeyID: key.ID}
	for k, v := range r.Headers {
		h[k] = v
	}
	r.Headers = h
	return r
}

func keySet(t *testing.T, keys ...*signing.PrivateKey) *signing.KeySet {
	t.Helper()
	var public []signing.PublicKey
	for _, k := range keys {
		public = append(public, k.PublicKey(time.Now()))
	}
	set, err := signing.NewKeySet(public...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestSignedEventsVerifyAndEveryTamperingIsCaught(t *testing.T) {
	for _, algorithm := range signing.Algorithms {
		t.Run(algorithm, func(t *testing.T) {
			key, err := signing.GenerateKey(algorithm)
			if err != nil {
				t.Fatal(err)
			}
			if key.Algorithm != algorithm || len(key.ID) != 16 {
				t.Fatalf("key %q of %q, want a 16-digit id of %q", key.ID, key.Algorithm, algorithm)
			}
			set := keySet(t, key)
			good := signed(t, key, sampleRecord())
			if err := set.Verify(good); err != nil {
				t.Fatalf("a signed event does not verify: %v", err)
			}
			for _, field := range []string{"ce_id", "ce_type", "ce_subject", "ce_time"} {
				r := signed(t, key, sampleRecord())
				r.Headers[field] += "x"
				if err := set.Verify(r); !errors.Is(err, signing.ErrBadSignature) {
					t.Errorf("%s changed: Verify = %v, want ErrBadSignature", field, err)
				}
			}
			r := signed(t, key, sampleRecord())
			r.Value = []byte(strings.Replace(string(r.Value), "1234", "9999", 1))
			if err := set.Verify(r); !errors.Is(err, signing.ErrBadSignature) {
				t.Errorf("value changed: Verify = %v, want ErrBadSignature", err)
			}
			r = signed(t, key, sampleRecord())
			r.Key = []byte("R2")
			if err := set.Verify(r); !errors.Is(err, signing.ErrBadSignature) {
				t.Errorf("key changed: Verify = %v, want ErrBadSignature", err)
			}
			r = signed(t, key, sampleRecord())
			r.Headers["ce_source"] = "/elsewhere" // not covered: the contract fixes it, and it proves nothing
			if err := set.Verify(r); err != nil {
				t.Errorf("ce_source changed: Verify = %v, want nil", err)
			}
			r = signed(t, key, sampleRecord())
			r.Headers[signing.HeaderSignature] = "not base64!"
			if err := set.Verify(r); !errors.Is(err, signing.ErrBadSignature) || !strings.Contains(err.Error(), key.ID) {
				t.Errorf("garbled signature: Verify = %v, want ErrBadSignature naming %s", err, key.ID)
			}
		})
	}
}

func TestUnsignedAndUnknownKeyAreToldApart(t *testing.T) {
	key, _ := signing.GenerateKey(signing.Ed25519)
	other, _ := signing.GenerateKey(signing.Ed25519)
	set := keySet(t, key)
	if err := set.Verify(sampleRecord()); !errors.Is(err, signing.ErrUnsigned) {
		t.Errorf("no signature headers: Verify = %v, want ErrUnsigned", err)
	}
	r := signed(t, key, sampleRecord())
	delete(r.Headers, signing.HeaderSignatureKeyID)
	if err := set.Verify(r); !errors.Is(err, signing.ErrUnsigned) {
		t.Errorf("no key id: Verify = %v, want ErrUnsigned", err)
	}
	err := set.Verify(signed(t, other, sampleRecord()))
	if !errors.Is(err, signing.ErrUnknownKey) || !strings.Contains(err.Error(), other.ID) {
		t.Errorf("a key not in the set: Verify = %v, want ErrUnknownKey naming %s", err, other.ID)
	}
	// A forger who publishes nothing but claims a published key's id fails on the signature.
	forged := signed(t, other, sampleRecord())
	forged.Headers[signing.HeaderSignatureKeyID] = key.ID
	if err := set.Verify(forged); !errors.Is(err, signing.ErrBadSignature) {
		t.Errorf("signed by another key under a published id: Verify = %v, want ErrBadSignature", err)
	}
}

func TestRetiredKeysStillVerifyAndALaterRecordReplacesAKey(t *testing.T) {
	old, _ := signing.GenerateKey(signing.Ed25519)
	current, _ := signing.GenerateKey(signing.SM2SM3)
	retired := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	oldPublic := old.PublicKey(retired.Add(-time.Hour))
	set, err := signing.NewKeySet(oldPublic, current.PublicKey(retired))
	if err != nil {
		t.Fatal(err)
	}
	oldPublic.Retired = &retired
	value, _ := json.Marshal(oldPublic)
	if err := set.AddRecord(value); err != nil {
		t.Fatal(err)
	}
	for _, k := range []*signing.PrivateKey{old, current} {
		if err := set.Verify(signed(t, k, sampleRecord())); err != nil {
			t.Errorf("event signed by %s (%s): %v", k.ID, k.Algorithm, err)
		}
	}
	keys := set.Keys()
	if len(keys) != 2 {
		t.Fatalf("%d keys, want 2", len(keys))
	}
	for _, k := range keys {
		if (k.ID == old.ID) != (k.Retired != nil && k.Retired.Equal(retired)) {
			t.Errorf("key %s retired %v; only %s was retired, at %s", k.ID, k.Retired, old.ID, retired)
		}
	}
}

func TestKeyRecordsThatLieAboutTheirKeyAreRefused(t *testing.T) {
	key, _ := signing.GenerateKey(signing.Ed25519)
	other, _ := signing.GenerateKey(signing.Ed25519)
	wrongID := key.PublicKey(time.Now())
	wrongID.ID = other.ID
	wrongAlgorithm := key.PublicKey(time.Now())
	wrongAlgorithm.Algorithm = signing.SM2SM3
	notPEM := key.PublicKey(time.Now())
	notPEM.PEM = base64.StdEncoding.EncodeToString([]byte(notPEM.PEM))
	for name, k := range map[string]signing.PublicKey{"another key's id": wrongID, "another algorithm": wrongAlgorithm, "not PEM": notPEM} {
		if _, err := signing.NewKeySet(k); err == nil || !strings.Contains(err.Error(), k.ID) {
			t.Errorf("%s: NewKeySet = %v, want an error naming key %s", name, err, k.ID)
		}
	}
}

func TestPublicKeysFileRoundTrips(t *testing.T) {
	a, _ := signing.GenerateKey(signing.Ed25519)
	b, _ := signing.GenerateKey(signing.SM2SM3)
	data, err := signing.MarshalKeySet([]signing.PublicKey{a.PublicKey(time.Now()), b.PublicKey(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	set, err := signing.ParseKeySet(data)
	if err != nil {
		t.Fatalf("%v in\n%s", err, data)
	}
	for _, k := range []*signing.PrivateKey{a, b} {
		if err := set.Verify(signed(t, k, sampleRecord())); err != nil {
			t.Errorf("%s from the file: %v", k.Algorithm, err)
		}
	}
}

// Operators make key files with openssl; the bridge must read them as openssl writes them.
func TestPrivateKeysFromOpenSSLAndBackThroughPKCS8(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	for algorithm, flag := range map[string]string{signing.Ed25519: "ed25519", signing.SM2SM3: "SM2"} {
		path := filepath.Join(t.TempDir(), "key.pem")
		if out, err := exec.Command(openssl, "genpkey", "-algorithm", flag, "-out", path).CombinedOutput(); err != nil {
			t.Fatalf("openssl genpkey -algorithm %s: %v\n%s", flag, err, out)
		}
		data, _ := os.ReadFile(path)
		key, err := signing.ParsePrivateKey(data)
		if err != nil {
			t.Fatalf("%s key from openssl: %v", flag, err)
		}
		if key.Algorithm != algorithm {
			t.Errorf("openssl %s key read as %s", flag, key.Algorithm)
		}
		der, err := key.MarshalPKCS8()
		if err != nil {
			t.Fatal(err)
		}
		again, err := signing.ParsePrivateKey(der)
		if err != nil || again.ID != key.ID {
			t.Fatalf("%s key through PKCS#8 DER: %v, id %s, want %s", algorithm, err, again.ID, key.ID)
		}
		if err := keySet(t, key).Verify(signed(t, again, sampleRecord())); err != nil {
			t.Errorf("%s: signed by the re-read key, checked with the original's public key: %v", algorithm, err)
		}
	}
	if _, err := signing.ParsePrivateKey([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")); err == nil || !strings.Contains(err.Error(), "PUBLIC KEY") {
		t.Errorf("a public key as the private key: %v, want an error naming the PEM type", err)
	}
}
