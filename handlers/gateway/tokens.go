package gateway

import (
	"context"
	"time"
)

// Tokens is how `bridge gateway token` keeps the callers' tokens: hashed, with an expiry, revocable.
type Tokens interface {
	CreateToken(ctx context.Context, t TokenInfo, hash []byte) error
	// RevokeToken revokes a live token by its id and says whether there was one.
	RevokeToken(ctx context.Context, id string, at time.Time) (bool, error)
	ListTokens(ctx context.Context) ([]TokenInfo, error)
}

// TokenInfo is what is known of a token besides its secret.
type TokenInfo struct {
	ID        string     `json:"id"`
	Caller    string     `json:"caller"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}
