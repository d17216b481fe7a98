// Package testenv gives integration tests the real PostgreSQL and Kafka
// they run against. Addresses come from BRIDGE_TEST_PG_URL and
// BRIDGE_TEST_KAFKA_BROKERS (set by `go run ./infra/dev/testenv/cmd/testenv`);
// when one is unset the package starts that service itself, once per test
// binary, and Main stops it when the binary exits. So `go test ./pkg/`
// works on its own, provided the package's TestMain calls testenv.Main:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
package testenv
