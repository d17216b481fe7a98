package main

import (
	"github.com/spf13/cobra"

	"hotline-bridge/pipeline"
)

func (c *cli) reportCommand() *cobra.Command {
	var opts pipeline.ReportOptions
	cmd := &cobra.Command{
		Use:   "report [--day D | --from D --to D] [--json] [--out DIR]",
		Short: "Indicator report (报告报表) of a period: flow per unit and table, work orders, time limits in working days, data validation, reconciliation",
		Long: `Print the indicator report of a day or a period of days in Asia/Shanghai (default: yesterday): what was
captured, stored, published and acknowledged by the district consumer groups (consumer_groups) per unit and
table; work orders by kind and status; the time limits in working days on China's official holiday calendar;
data-validation findings with row ids; reconciliation runs and what they found. --out DIR writes every section
as CSV and JSON, report.json and report.html (self-contained, charts included, works offline). No personal
data: ids, codes, counts and times only.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: true})
			if err != nil {
				return err
			}
			return pipeline.Report(cmd.Context(), cfg, log, cmd.OutOrStdout(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Day, "day", "", "the day to report, YYYY-MM-DD (default: yesterday in Asia/Shanghai)")
	f.StringVar(&opts.From, "from", "", "first day of the period, YYYY-MM-DD")
	f.StringVar(&opts.To, "to", "", "last day of the period, YYYY-MM-DD (inclusive)")
	f.BoolVar(&opts.JSON, "json", false, "print the whole report as one JSON object")
	f.StringVar(&opts.Out, "out", "", "write CSV and JSON per section, report.json and report.html into this directory")
	f.String("consumer-groups", "", "district consumer groups whose acknowledgements to count, unit=group[,unit=group] (BRIDGE_CONSUMER_GROUPS)")
	return cmd
}
