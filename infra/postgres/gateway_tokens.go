package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/handlers/gateway"
)

// CreateToken keeps a token's hash, never the token.
func (g *Gateway) CreateToken(ctx context.Context, t gateway.TokenInfo, hash []byte) error {
	_, err := g.db.Exec(ctx, `INSERT INTO bridge.gateway_token (id, caller, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, t.ID, t.Caller, hash, t.CreatedAt, t.ExpiresAt)
	if err != nil {
		return fmt.Errorf("keep gateway token %s: %w", t.ID, err)
	}
	return nil
}

// RevokeToken revokes the token if it is not revoked already.
func (g *Gateway) RevokeToken(ctx context.Context, id string, at time.Time) (bool, error) {
	tag, err := g.db.Exec(ctx, `UPDATE bridge.gateway_token SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, at)
	if err != nil {
		return false, fmt.Errorf("revoke gateway token %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ListTokens is every token, newest first.
func (g *Gateway) ListTokens(ctx context.Context) ([]gateway.TokenInfo, error) {
	rows, err := g.db.Query(ctx, `SELECT id, caller, created_at, expires_at, revoked_at FROM bridge.gateway_token
		ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list gateway tokens: %w", err)
	}
	tokens, err := pgx.CollectRows(rows, pgx.RowToStructByPos[gateway.TokenInfo])
	if err != nil {
		return nil, fmt.Errorf("list gateway tokens: %w", err)
	}
	return tokens, nil
}
