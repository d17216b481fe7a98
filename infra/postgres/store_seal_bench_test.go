package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"hotline-bridge/handlers/sort"
	"hotline-bridge/infra/atrest"
	"hotline-bridge/infra/postgres"
)

// BenchmarkStoreWriteSealed writes sorting batches of 1,000 info_provider rows (the table with the most personal
// fields) with their 1,000 outbox events, as the sorter's store transaction does, in clear (the reference) and
// sealed with each algorithm. Run:
// go tool task test PKGS=./infra/postgres/ -- -run '^$' -bench StoreWriteSealed -benchtime 20x
func BenchmarkStoreWriteSealed(b *testing.B) {
	db := newBridgeDB(b)
	ctx := context.Background()
	if err := postgres.EnsureStore(ctx, db, "wuhan"); err != nil {
		b.Fatal(err)
	}
	store, err := postgres.NewStore(ctx, db, "wuhan")
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, atrest.KeySize)
	_, _ = rand.Read(key)
	for _, c := range []struct{ name, alg string }{{"plaintext", ""}, {"AES-256-GCM", atrest.AES256GCM}, {"SM4-GCM", atrest.SM4GCM}} {
		b.Run(c.name, func(b *testing.B) {
			if c.alg == "" {
				store.SealWith(atrest.Clear())
			} else {
				keys, err := atrest.NewKeyring(c.alg, key)
				if err != nil {
					b.Fatal(err)
				}
				store.SealWith(keys)
			}
			rows := 0
			for i := 0; b.Loop(); i++ {
				w := providerBatch(c.name, i, 1000)
				if err := store.Apply(ctx, func(tx sort.Tx) error { _, err := tx.Write(ctx, w); return err }); err != nil {
					b.Fatal(err)
				}
				rows += len(w.Rows)
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func providerBatch(name string, batch, n int) *sort.Writes {
	w := &sort.Writes{}
	at := time.Date(2026, 11, 26, 15, 58, 31, 0, time.UTC)
	for i := range n {
		id := fmt.Sprintf("IP-%s-%d-%d", name, batch, i)
		payload := fmt.Appendf(nil, `{"id": "%s", "name": "欧阳小明", "phone": "139%08d", "address": "武汉市武昌区中北路%d号", "is_deleted": false, "id_card_no": "4201061990010%05d", "update_time": "2026-11-26T15:58:31+00:00", "registration_id": "R%d"}`, id, i, i, i, i)
		ref := sort.Ref{Table: "info_provider", ID: id}
		w.Rows = append(w.Rows, sort.StoreRow{Ref: ref, EventID: id, Unit: "420106", UpdateTime: at, Payload: payload})
		w.Events = append(w.Events, sort.Event{Scope: id, Unit: "420106", Type: "info_provider.upserted", Table: "info_provider",
			RowID: id, Key: fmt.Sprintf("R%d", i), RowTime: at, Payload: payload})
	}
	return w
}
