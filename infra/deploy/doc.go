// Package deploy holds what operating the bridge needs beside the binary: Prometheus alert rules
// (prometheus/alerts.yml) with their promtool unit tests (prometheus/alerts_test.yml), checked by this package's
// tests.
package deploy
