package main

import (
	"strings"

	"github.com/spf13/cobra"

	"hotline-bridge/pipeline"
)

func (c *cli) logsCommand() *cobra.Command {
	var opts pipeline.LogsOptions
	cmd := &cobra.Command{
		Use:   "logs download|distribution",
		Short: "Print the download log (capture pages) or the distribution log (publish batches): a line per hour, or every entry",
		Long: `Print the download log (every capture page that published rows, moved the watermark or failed) or the
distribution log (every publish batch per unit topic partition, and every failed send).

By default a summary line per hour; --detail prints every entry. --since and --until take RFC 3339
(2026-12-01T08:00:00+08:00), a date (2026-12-01, its local midnight) or a span back from now (90m, 24h, 7d);
the default is the last 24 hours.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := c.load(cmd, pipeline.Needs{Store: true})
			if err != nil {
				return err
			}
			opts.Log = strings.Join(args, " ") // anything but one known log is reported with every other problem
			return pipeline.Logs(cmd.Context(), cfg, cmd.OutOrStdout(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Since, "since", "", "entries that started at or after this time (default 24h ago)")
	f.StringVar(&opts.Until, "until", "", "entries that started before this time (default now)")
	f.StringVar(&opts.Table, "table", "", "download log: only this table, e.g. registration")
	f.StringVar(&opts.Unit, "unit", "", "distribution log: only this unit, e.g. 420106 or broadcast")
	f.BoolVar(&opts.Detail, "detail", false, "every entry instead of a line per hour")
	f.BoolVar(&opts.JSON, "json", false, "one JSON object per line")
	f.BoolVar(&opts.CSV, "csv", false, "CSV with a header line")
	return cmd
}
