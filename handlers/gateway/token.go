package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// tokenPrefix marks the gateway's tokens, so that one pasted where it does not belong is recognised (secret
// scanners match on it).
const tokenPrefix = "hbg_"

// NewToken is a fresh bearer token, 256 random bits, with its SHA-256 (what the store keeps) and its public id
// (what `token list` shows and `token revoke` takes).
func NewToken() (token string, hash []byte, id string) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand never fails (Go 1.24+)
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	hash = HashToken(token)
	return token, hash, TokenID(hash)
}

// HashToken is what the store keeps of a token. A plain SHA-256 suffices: the tokens are random and long, so
// there is no dictionary to try; a slow password hash would only slow every request.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// TokenID is a token's public handle: the first 12 hex digits of its hash.
func TokenID(hash []byte) string { return hex.EncodeToString(hash)[:12] }

// bearer reads the token of an Authorization header; "" when there is none.
func bearer(header string) string {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
