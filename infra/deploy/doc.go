// Package deploy holds what operating the bridge needs beside the binary, each checked by this package's tests:
// Prometheus alert rules (prometheus/alerts.yml) with their promtool unit tests (prometheus/alerts_test.yml); a
// Grafana dashboard (grafana/hotline-bridge.json) whose queries name only metrics the bridge exports; a systemd
// unit with its hardening, an environment file for secrets and a nightly backup timer (systemd/); and an example
// configuration naming every key of pipeline.Config with its default (config.example.yaml).
package deploy
