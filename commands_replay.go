package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"hotline-bridge/handlers/replay"
	"hotline-bridge/pipeline"
)

func (c *cli) replayCommand() *cobra.Command {
	var opts pipeline.ReplayOptions
	var since, until string
	cmd := &cobra.Command{
		Use:   "replay [--from store|capture|upstream] [filters] [--dry-run | --submit] | --list | --pause ID | --resume ID",
		Short: "Re-send (store) or re-sort (capture, upstream) what the filters select, as a job that resumes after an interruption",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opts.Filter.Since, err = parseWhen("--since", since); err != nil {
				return err
			}
			if opts.Filter.Until, err = parseWhen("--until", until); err != nil {
				return err
			}
			needs := pipeline.Needs{Store: true, Kafka: true, Upstream: opts.From == replay.SourceUpstream && !opts.List && opts.Pause == 0}
			cfg, log, err := c.load(cmd, needs)
			if err != nil {
				return err
			}
			opts.Progress = cmd.ErrOrStderr() // beside the logs, never on stdout where a caller may read results
			return pipeline.Replay(cmd.Context(), cfg, log, cmd.OutOrStdout(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.From, "from", replay.SourceStore, "store (re-publish what the store holds), capture (re-sort the capture log) or upstream (re-read and re-sort)")
	f.StringSliceVar(&opts.Filter.Units, "unit", nil, "only rows of these units (store), or the ledger places in them (capture, upstream)")
	f.StringSliceVar(&opts.Filter.Tables, "table", nil, "only these record kinds")
	f.StringVar(&since, "since", "", "only versions with update_time at or after this (RFC 3339 or YYYY-MM-DD)")
	f.StringVar(&until, "until", "", "only versions with update_time before this (RFC 3339 or YYYY-MM-DD)")
	f.StringSliceVar(&opts.Filter.IDs, "ids", nil, "only these row ids")
	f.StringSliceVar(&opts.Filter.RegNos, "reg-no", nil, "only these registrations (登记编号) and their families")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print what would be sent, by unit and table; send nothing")
	f.BoolVar(&opts.Submit, "submit", false, "hand the job (or, with --resume, the resumed one) to the running bridges instead of running it here")
	f.BoolVar(&opts.List, "list", false, "list the replay jobs, newest first")
	f.Int64Var(&opts.Pause, "pause", 0, "pause job ID after its current step")
	f.Int64Var(&opts.Resume, "resume", 0, "resume job ID from its checkpoint, here (or with --submit in a running bridge)")
	f.Int("batch-size", 0, "rows per step (default 2000, at most what one store transaction may lock)")
	f.Float64("replay-rows-per-s", 0, "at most this many rows a second; 0 is no bound (BRIDGE_REPLAY_ROWS_PER_S)")
	return cmd
}

// parseWhen reads a --since or --until value: RFC 3339, or a date (midnight UTC).
func parseWhen(flag, value string) (*time.Time, error) {
	if value == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if at, err := time.Parse(layout, value); err == nil {
			return &at, nil
		}
	}
	return nil, fmt.Errorf("%s %q: want RFC 3339 (2026-11-01T00:00:00+08:00) or a date (2026-11-01)", flag, value)
}
