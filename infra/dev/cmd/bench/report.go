package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// printSizes prints the table, then one machine-readable line per size.
func printSizes(w io.Writer, results []sizeResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\tregistrations\tupstream rows\tseed s\traw pipe s\tbridge s\trows/s\tevents\tevents/s\t"+
		"capture done s\tsort done s\toutbox drained s\tpeak RSS MB\tbridge/raw\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%d×\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.0f\t%d\t%.0f\t%s\t%s\t%s\t%.0f\t%.1f\t\n",
			r.Multiple, r.Registrations, r.UpstreamRows, r.Seed.Seconds(), r.RawPipe.Seconds(), r.Bridge.Wall.Seconds(),
			perSecond(r.UpstreamRows, r.Bridge.Wall), r.Events, perSecond(r.Events, r.Bridge.Wall),
			stage(r.Bridge.Stages[0]), stage(r.Bridge.Stages[1]), stage(r.Bridge.Stages[2]),
			megabytes(r.Bridge.PeakRSSKB), ratio(r))
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range results {
		fmt.Fprintf(w, "bench: upstream_rows=%d seconds=%.2f rows_per_s=%.0f events=%d peak_rss_mb=%.0f raw_pipe_seconds=%.2f ratio=%.2f\n",
			r.UpstreamRows, r.Bridge.Wall.Seconds(), perSecond(r.UpstreamRows, r.Bridge.Wall), r.Events,
			megabytes(r.Bridge.PeakRSSKB), r.RawPipe.Seconds(), ratio(r))
	}
	// The audit trail is written in the transactions of the deeds; what it adds at the end is the relay and the
	// audit subscriber catching up after the outbox drained.
	for _, r := range results {
		fmt.Fprintf(w, "bench: audit_hops=%d hops_per_event=%.1f audit_tail_s=%.2f\n", r.Hops,
			float64(r.Hops)/float64(max(r.Events, 1)), (r.Bridge.Stages[3] - r.Bridge.Stages[2]).Seconds())
	}
	for _, r := range results {
		if r.Traced == nil {
			continue
		}
		off, on := perSecond(r.UpstreamRows, r.Bridge.Wall), perSecond(r.UpstreamRows, r.Traced.Wall)
		fmt.Fprintf(w, "bench: tracing=off upstream_rows=%d seconds=%.2f rows_per_s=%.0f bridge_cpu_s=%.1f peak_rss_mb=%.0f\n",
			r.UpstreamRows, r.Bridge.Wall.Seconds(), off, r.Bridge.CPU.Seconds(), megabytes(r.Bridge.PeakRSSKB))
		fmt.Fprintf(w, "bench: tracing=on upstream_rows=%d seconds=%.2f rows_per_s=%.0f bridge_cpu_s=%.1f peak_rss_mb=%.0f throughput_cost_pct=%.1f cpu_cost_pct=%.1f\n",
			r.UpstreamRows, r.Traced.Wall.Seconds(), on, r.Traced.CPU.Seconds(), megabytes(r.Traced.PeakRSSKB),
			100*(1-on/off), 100*(r.Traced.CPU.Seconds()/r.Bridge.CPU.Seconds()-1))
	}
}

// printLatency prints what the steady state streamed, then its machine-readable line.
func printLatency(w io.Writer, l latency) {
	fmt.Fprintf(w, "\nsteady state: %.1f s of changes, %d upstream rows written (%.0f/s, every %dth round %d× as large); "+
		"%d of those row versions went to units, latency to their first event; %d still unpublished\n", l.Window.Seconds(),
		l.Changes, perSecond(int64(l.Changes), l.Window), roundsPerBurst, burstFactor, l.Versions, l.Pending)
	fmt.Fprintf(w, "bench: latency_p50_ms=%.0f p99_ms=%.0f max_ms=%.0f\n", l.P50, l.P99, l.Max)
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func ratio(r sizeResult) float64 {
	if r.RawPipe <= 0 {
		return 0
	}
	return r.Bridge.Wall.Seconds() / r.RawPipe.Seconds()
}

func megabytes(kb int) float64 { return float64(kb) / 1024 }

// stage is a stage's time since start, or "-" when the bridge never logged it.
func stage(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", d.Seconds())
}
