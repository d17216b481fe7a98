package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events/signing"
	"hotline-bridge/infra/postgres"
)

// storedKeys is bridge.signing_key as "id algorithm private|public active|retired", oldest first.
func storedKeys(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT key_id || ' ' || algorithm
		|| CASE WHEN private_key IS NULL THEN ' public' ELSE ' private' END
		|| CASE WHEN retired_at IS NULL THEN ' active' ELSE ' retired' END
		FROM bridge.signing_key ORDER BY created_at, key_id`)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// Instances starting together on an empty store race to make the key; every one must end up signing with the
// same single key.
func TestInstancesEnsuringAKeyTogetherGetOneKey(t *testing.T) {
	db := newBridgeDB(t)
	const instances = 8
	ids := make([]string, instances)
	created := make([]bool, instances)
	errs := make([]error, instances)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() {
			<-start
			key, made, err := postgres.NewSigningKeys(db).Ensure(context.Background(), signing.Ed25519)
			if err == nil {
				ids[i], created[i] = key.ID, made
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	makers := 0
	for i := range instances {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("instances sign with different keys: %v", ids)
		}
		if created[i] {
			makers++
		}
	}
	if want := []string{ids[0] + " ed25519 private active"}; fmt.Sprint(storedKeys(t, db)) != fmt.Sprint(want) || makers != 1 {
		t.Fatalf("stored %v, %d instances say they made it; want %v made by one", storedKeys(t, db), makers, want)
	}
}

func TestRotationRetiresTheActiveKeyAndKeepsItPublished(t *testing.T) {
	ctx := context.Background()
	db := newBridgeDB(t)
	keys := postgres.NewSigningKeys(db)
	first, _, err := keys.Ensure(ctx, signing.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	second, err := keys.Rotate(ctx, signing.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	active, err := keys.Active(ctx)
	if err != nil || active.ID != second.ID {
		t.Fatalf("active after the rotation: %v, %v; want %s", active, err, second.ID)
	}
	// Switching signing_algorithm retires the key of the other algorithm at the next start.
	third, made, err := keys.Ensure(ctx, signing.SM2SM3)
	if err != nil || !made || third.Algorithm != signing.SM2SM3 {
		t.Fatalf("Ensure(sm2-sm3) over an ed25519 key = %v, %t, %v; want a new SM2 key", third, made, err)
	}
	again, made, err := keys.Ensure(ctx, signing.SM2SM3)
	if err != nil || made || again.ID != third.ID {
		t.Fatalf("Ensure again = %v, %t, %v; want %s kept", again, made, err, third.ID)
	}
	want := []string{first.ID + " ed25519 private retired", second.ID + " ed25519 private retired", third.ID + " sm2-sm3 private active"}
	if got := storedKeys(t, db); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stored %v, want %v", got, want)
	}
	public, err := keys.Public(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set, err := signing.NewKeySet(public...)
	if err != nil {
		t.Fatalf("the stored public keys do not load: %v", err)
	}
	for _, k := range []*signing.PrivateKey{first, second, third} {
		if !set.Has(k.ID) {
			t.Errorf("key %s is not among the public keys", k.ID)
		}
	}
	if public[0].Retired == nil || public[2].Retired != nil {
		t.Fatalf("retirement times %v, %v: want the first retired, the last not", public[0].Retired, public[2].Retired)
	}
}

func TestAFileKeyIsRegisteredPublicOnly(t *testing.T) {
	ctx := context.Background()
	db := newBridgeDB(t)
	keys := postgres.NewSigningKeys(db)
	fileKey, _ := signing.GenerateKey(signing.SM2SM3)
	for range 2 {
		if err := keys.Register(ctx, fileKey); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := storedKeys(t, db), []string{fileKey.ID + " sm2-sm3 public active"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stored %v, want %v", got, want)
	}
	if _, err := keys.Active(ctx); err != postgres.ErrNoActiveKey {
		t.Fatalf("Active with only a file key stored = %v, want ErrNoActiveKey: a file key's private half is not here", err)
	}
}
