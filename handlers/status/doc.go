// Package status is the live status page that bridge run serves at /status on http_addr: what flows to each
// unit, how far capture lags, what waits or was set aside, which dependency does not answer, what the last
// inspection and reconciliation found, and the journey of one work order. It is read-only, refreshes itself,
// needs nothing from the internet, and shows counts, ages, codes and ids — never row content.
package status
