package localkafka

import "testing"

func TestClusterIDNeverLooksLikeAnOption(t *testing.T) {
	for range 5000 {
		id, err := newClusterID()
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 22 || id[0] == '-' {
			t.Fatalf("cluster id %q: kafka-storage needs 22 base64url characters not starting with '-'", id)
		}
	}
}
