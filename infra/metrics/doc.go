// Package metrics is the bridge's Prometheus adapter: every metric it exports, defined in one place with its help
// text, the hooks the pipeline's stages report to, the gauges read from PostgreSQL at scrape time, and the
// health and readiness endpoints.
package metrics
