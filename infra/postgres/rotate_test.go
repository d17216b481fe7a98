package postgres_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/sort"
	"hotline-bridge/infra/atrest"
	"hotline-bridge/infra/postgres"
)

func randomKey() []byte {
	k := make([]byte, atrest.KeySize)
	_, _ = rand.Read(k)
	return k
}

// A rotation pass reseals the store's personal columns and the outbox, parked and quarantined payloads under the
// new key, batch by batch; the next pass finds nothing left.
func TestRotationResealsEveryPlace(t *testing.T) {
	db := newBridgeDB(t)
	ctx := context.Background()
	if err := postgres.EnsureStore(ctx, db, "wuhan"); err != nil {
		t.Fatal(err)
	}
	store, err := postgres.NewStore(ctx, db, "wuhan")
	if err != nil {
		t.Fatal(err)
	}
	oldKey, newKey := randomKey(), randomKey()
	old, _ := atrest.NewKeyring(atrest.AES256GCM, oldKey)
	store.SealWith(old)
	w := providerBatch("rot", 0, 120) // over two batches of 50, and seqs past 100
	v := events.RowVersion{Table: "info_provider", ID: "IP-P", UpdateTime: time.Now(), Payload: w.Rows[0].Payload}
	w.Park = []sort.ParkRow{{Version: v, Waiting: sort.Ref{Table: "registration", ID: "REG-NEVER"}}}
	w.Quarantine = []sort.QuarantineRow{{Version: events.RowVersion{Table: "info_provider", ID: "IP-Q", Payload: []byte(`{"phone": "139`)}, Reason: "test"}}
	if err := store.Apply(ctx, func(tx sort.Tx) error { _, err := tx.Write(ctx, w); return err }); err != nil {
		t.Fatal(err)
	}
	rotated, _ := atrest.NewKeyring(atrest.AES256GCM, newKey, oldKey)
	rotation := postgres.NewRotation(db, "wuhan", rotated, 50)
	first, err := rotation.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"wuhan.info_provider": 120, "wuhan.personnel": 0, "bridge.outbox": 120, "bridge.parked": 1, "bridge.quarantine": 1}
	for place, n := range want {
		if first.ByPlace[place] != n {
			t.Errorf("pass 1 resealed %d in %s, want %d (all: %v)", first.ByPlace[place], place, n, first.ByPlace)
		}
	}
	if second, err := rotation.Pass(ctx); err != nil || !second.Converged() {
		t.Errorf("pass 2: %+v, %v; want nothing left", second, err)
	}
	var left int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM wuhan.info_provider WHERE phone NOT LIKE $1)
		+ (SELECT count(*) FROM bridge.outbox WHERE payload LIKE '%enc:v1:%' AND payload NOT LIKE '%' || $1)
		+ (SELECT count(*) FROM bridge.parked WHERE payload NOT LIKE '%' || $1)
		+ (SELECT count(*) FROM bridge.quarantine WHERE payload NOT LIKE $1)`, "enc:v1:"+rotated.CurrentID()+":%").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d values not under the new key after the rotation", left)
	}
}
