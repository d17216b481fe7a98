package atrest_test

import (
	"fmt"
	"testing"

	"hotline-bridge/infra/atrest"
)

// BenchmarkSealBatch seals a sorting batch's info_provider payloads (the table with the most personal fields)
// beside the plaintext reference, which passes them through as the store write does without a key. Run:
// go test ./infra/atrest/ -run '^$' -bench . -benchmem
func BenchmarkSealBatch(b *testing.B) {
	batch := make([][]byte, 1000)
	for i := range batch {
		batch[i] = fmt.Appendf(nil, `{"id": "IP-%06d", "name": "欧阳小明", "phone": "139%08d", "address": "武汉市武昌区中北路%d号", "is_deleted": false, "id_card_no": "4201061990010%05d", "update_time": "2026-11-26T15:58:31.557583+00:00", "registration_id": "R%06d"}`, i, i, i, i, i)
	}
	cases := []struct {
		name string
		alg  string
		key  []byte
	}{{"plaintext", atrest.AES256GCM, nil}, {"AES-256-GCM", atrest.AES256GCM, newKey(b)}, {"SM4-GCM", atrest.SM4GCM, newKey(b)}}
	for _, c := range cases {
		k := keyring(b, c.alg, c.key)
		b.Run("seal/"+c.name, func(b *testing.B) {
			for b.Loop() {
				for _, p := range batch {
					_ = k.Seal("info_provider", p)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "rows/s")
		})
		sealed := make([][]byte, len(batch))
		for i, p := range batch {
			sealed[i] = k.Seal("info_provider", p)
		}
		b.Run("open/"+c.name, func(b *testing.B) {
			for b.Loop() {
				for _, p := range sealed {
					if _, err := k.Open("info_provider", p); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
