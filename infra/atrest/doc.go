// Package atrest keeps personal data (events.Kind.Personal: complainants' names, phones, ID numbers, addresses,
// staff names and phones) encrypted at rest in every copy the bridge keeps in its store — the store's tables, the
// outbox, parked and quarantined rows — and opens it again for publishing. A sealed value is self-describing,
// enc:v1:<key id>:<base64url of nonce, ciphertext and tag>, AES-256-GCM or SM4-GCM, bound to its table and
// field; the key id is derived from the key, so every instance given the same key file agrees on it.
package atrest
