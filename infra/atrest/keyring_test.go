package atrest_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"hotline-bridge/infra/atrest"
)

func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, atrest.KeySize)
	_, _ = rand.Read(k)
	return k
}

func keyring(t testing.TB, alg string, current []byte, readable ...[]byte) *atrest.Keyring {
	t.Helper()
	k, err := atrest.NewKeyring(alg, current, readable...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A payload as capture reads it (to_jsonb(t)::text), with escapes in a personal field.
const provider = `{"id": "IP-1", "name": "欧阳\"小明\"", "phone": "13912345678", "address": "武昌区中北路\n1号", "is_deleted": false, "id_card_no": "420106199001011234", "update_time": "2026-11-26T15:58:31.557583+00:00", "registration_id": "R1"}`

func TestSealHidesEveryPersonalFieldAndOpenGivesBackTheBytes(t *testing.T) {
	for _, alg := range atrest.Algorithms {
		t.Run(alg, func(t *testing.T) {
			k := keyring(t, alg, newKey(t))
			sealed := k.Seal("info_provider", []byte(provider))
			for _, clear := range []string{"欧阳", "13912345678", "中北路", "420106199001011234"} {
				if bytes.Contains(sealed, []byte(clear)) {
					t.Errorf("sealed payload still holds %q: %s", clear, sealed)
				}
			}
			for _, f := range []string{"name", "phone", "address", "id_card_no"} {
				v := gjson.GetBytes(sealed, f).String()
				if atrest.SealedKeyID(v) != k.CurrentID() {
					t.Errorf("%s = %q, want sealed under key id %s", f, v, k.CurrentID())
				}
			}
			if got := gjson.GetBytes(sealed, "registration_id").String(); got != "R1" {
				t.Errorf("registration_id = %q, want R1 untouched", got)
			}
			if !gjson.ValidBytes(sealed) {
				t.Fatalf("sealed payload is no JSON: %s", sealed)
			}
			opened, err := k.Open("info_provider", sealed)
			if err != nil {
				t.Fatal(err)
			}
			if string(opened) != provider {
				t.Errorf("opened payload differs from the original:\n got %s\nwant %s", opened, provider)
			}
			// A value upstream that only looks sealed is sealed too, and comes back as it was.
			lookalike := `{"id": "IP-2", "name": "enc:v1:0123456789abcdef:AAAA"}`
			if back, err := k.Open("info_provider", k.Seal("info_provider", []byte(lookalike))); err != nil || string(back) != lookalike {
				t.Errorf("a look-alike value: opened %s, %v", back, err)
			}
		})
	}
}

func TestSealLeavesOtherTablesNullsAndAKeyringWithoutKeyAlone(t *testing.T) {
	k := keyring(t, atrest.AES256GCM, newKey(t))
	reg := `{"id": "R1", "summary": "13912345678", "reg_no": "N1"}`
	if got := k.Seal("registration", []byte(reg)); string(got) != reg {
		t.Errorf("a table without personal fields was changed: %s", got)
	}
	nulls := `{"id": "P1", "name": null, "phone": null, "org_id": "O1"}`
	if got := k.Seal("personnel", []byte(nulls)); string(got) != nulls {
		t.Errorf("JSON nulls were changed: %s", got)
	}
	plain := keyring(t, atrest.AES256GCM, nil)
	if got := plain.Seal("info_provider", []byte(provider)); string(got) != provider {
		t.Errorf("a keyring without a current key sealed: %s", got)
	}
}

func TestTheKeyIDFollowsFromTheKeyAndTheAlgorithm(t *testing.T) {
	raw := newKey(t)
	a, b := keyring(t, atrest.AES256GCM, raw), keyring(t, atrest.AES256GCM, bytes.Clone(raw))
	if a.CurrentID() != b.CurrentID() || len(a.CurrentID()) != 16 {
		t.Errorf("two keyrings of one key: ids %q and %q, want the same 16 hex digits", a.CurrentID(), b.CurrentID())
	}
	if sm := keyring(t, atrest.SM4GCM, raw); sm.CurrentID() == a.CurrentID() {
		t.Errorf("the key has id %s under both algorithms", sm.CurrentID())
	}
	if other := keyring(t, atrest.AES256GCM, newKey(t)); other.CurrentID() == a.CurrentID() {
		t.Errorf("two keys have the id %s", a.CurrentID())
	}
}

func TestOpenNamesAnUnknownKeyIDAndNoValue(t *testing.T) {
	old := keyring(t, atrest.AES256GCM, newKey(t))
	sealed := old.Seal("info_provider", []byte(provider))
	other := keyring(t, atrest.AES256GCM, newKey(t))
	_, err := other.Open("info_provider", sealed)
	var unknown *atrest.UnknownKeyError
	if !errors.As(err, &unknown) || unknown.KeyID != old.CurrentID() {
		t.Fatalf("open under another key: %v, want an UnknownKeyError naming %s", err, old.CurrentID())
	}
	if !strings.Contains(err.Error(), old.CurrentID()) || !strings.Contains(err.Error(), "encryption_old_key_files") {
		t.Errorf("error %q names neither the key id nor what to configure", err)
	}
	for _, clear := range []string{"13912345678", "欧阳", "enc:v1:" + old.CurrentID() + ":A"} {
		if strings.Contains(err.Error(), clear) {
			t.Errorf("error %q quotes %q", err, clear)
		}
	}
	var p interface{ Permanent() bool }
	if !errors.As(err, &p) || !p.Permanent() {
		t.Errorf("an unknown key is not permanent: %v", err)
	}
}

func TestAValueMovedToAnotherColumnDoesNotOpen(t *testing.T) {
	k := keyring(t, atrest.AES256GCM, newKey(t))
	sealed := k.Seal("info_provider", []byte(provider))
	phone := gjson.GetBytes(sealed, "phone").String()
	swapped := strings.Replace(string(sealed), gjson.GetBytes(sealed, "name").String(), phone, 1)
	_, err := k.Open("info_provider", []byte(swapped))
	var damaged *atrest.DamagedError
	if !errors.As(err, &damaged) || damaged.KeyID != k.CurrentID() {
		t.Fatalf("open a phone moved into name: %v, want a DamagedError naming %s", err, k.CurrentID())
	}
}

func TestResealMovesEverythingToTheCurrentKey(t *testing.T) {
	oldKey, newKeyRaw := newKey(t), newKey(t)
	old := keyring(t, atrest.AES256GCM, oldKey)
	rotated := keyring(t, atrest.SM4GCM, newKeyRaw, oldKey)
	sealed := old.Seal("info_provider", []byte(provider))
	resealed, changed, err := rotated.Reseal("info_provider", sealed)
	if err != nil || !changed {
		t.Fatalf("reseal: changed %v, %v", changed, err)
	}
	for _, f := range []string{"name", "phone", "address", "id_card_no"} {
		if id := atrest.SealedKeyID(gjson.GetBytes(resealed, f).String()); id != rotated.CurrentID() {
			t.Errorf("%s under key id %s after reseal, want %s", f, id, rotated.CurrentID())
		}
	}
	if again, changed, _ := rotated.Reseal("info_provider", resealed); changed || !bytes.Equal(again, resealed) {
		t.Error("a second reseal changed the payload")
	}
	if opened, err := keyring(t, atrest.SM4GCM, newKeyRaw).Open("info_provider", resealed); err != nil || string(opened) != provider {
		t.Errorf("open with the new key alone: %v\n got %s", err, opened)
	}
	// A payload kept in clear before encryption was on is sealed by the reseal.
	if fromClear, changed, _ := rotated.Reseal("info_provider", []byte(provider)); !changed || bytes.Contains(fromClear, []byte("13912345678")) {
		t.Errorf("a payload in clear was not sealed: %s", fromClear)
	}
}

func TestResealColumnSealsTheStoreTextAsThePayloadCarriesIt(t *testing.T) {
	k := keyring(t, atrest.AES256GCM, newKey(t))
	// The store column holds the decoded text; sealed, it must open inside a payload to its JSON form.
	v, changed, err := k.ResealColumn("info_provider", "address", "武昌区中北路\n1号")
	if err != nil || !changed {
		t.Fatalf("reseal a column in clear: %v, %v", changed, err)
	}
	opened, err := k.Open("info_provider", []byte(`{"address": "`+v+`"}`))
	if err != nil || string(opened) != `{"address": "武昌区中北路\n1号"}` {
		t.Errorf("opened %s, %v", opened, err)
	}
	if same, changed, _ := k.ResealColumn("info_provider", "address", v); changed || same != v {
		t.Error("a value under the current key was sealed again")
	}
}

func TestQuarantinedPayloadsAreSealedByFieldOrWhole(t *testing.T) {
	raw := newKey(t)
	k := keyring(t, atrest.AES256GCM, raw)
	byField := k.SealQuarantined("info_provider", []byte(provider))
	if got := gjson.GetBytes(byField, "registration_id").String(); got != "R1" {
		t.Errorf("a quarantined JSON row lost its plain fields: %s", byField)
	}
	broken := []byte(`{"id": "IP-2", "phone": "13912345678"`)
	whole := k.SealQuarantined("info_provider", broken)
	if atrest.SealedKeyID(string(whole)) != k.CurrentID() {
		t.Errorf("a payload that is no JSON was not sealed whole: %s", whole)
	}
	rotated := keyring(t, atrest.AES256GCM, newKey(t), raw)
	again, changed, err := rotated.ResealQuarantined("info_provider", whole)
	if err != nil || !changed || atrest.SealedKeyID(string(again)) != rotated.CurrentID() {
		t.Errorf("reseal of a whole sealed payload: %s, %v, %v", again, changed, err)
	}
}

func TestReadKeyFileRefusesAShortKeyWithoutShowingIt(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("secret-but-too-short"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := atrest.ReadKeyFile("encryption_key_file", short)
	want := fmt.Sprintf("encryption_key_file %s holds 20 bytes; an encryption key is exactly 32 random bytes", short)
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secret") {
		t.Errorf("short key file: %v, want %q and no content", err, want)
	}
	if _, err := atrest.ReadKeyFile("encryption_key_file", filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "encryption_key_file: open") {
		t.Errorf("missing key file: %v", err)
	}
}
