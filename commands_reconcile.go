package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"hotline-bridge/pipeline"
)

func (c *cli) reconcileCommand() *cobra.Command {
	var opts pipeline.ReconcileOptions
	cmd := &cobra.Command{
		Use:   "reconcile --once [--dry-run] [--json] [--only delivery|source]",
		Short: "Check that every unit topic still holds what the store distributed and that the store holds what the upstream has, repair what differs; exit 1 if something could not be repaired",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.ReconcileNeeds(opts.Only))
			if err != nil {
				return err
			}
			return pipeline.Reconcile(cmd.Context(), cfg, log, cmd.OutOrStdout(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Once, "once", false, "run the checks now, once (bridge run runs them every reconcile_interval)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "report only; repair nothing")
	f.BoolVar(&opts.JSON, "json", false, "one JSON object per unit")
	f.StringSliceVar(&opts.Only, "only", nil, "run only these checks: delivery, source")
	f.String("consumer-groups", "", "district consumer groups to check, unit=group[,unit=group] (BRIDGE_CONSUMER_GROUPS)")
	f.Int("partitions", 0, "partitions of a missing unit topic the repair creates (default 6)")
	f.Int("replication", 0, "replication factor of a missing unit topic the repair creates (default 1)")
	addSourceFlags(f)
	return cmd
}

// addSourceFlags are the source check's keys, for bridge run and bridge reconcile.
func addSourceFlags(f *pflag.FlagSet) {
	f.Duration("reconcile-window", 0, "span of update_time the source check compares at once (default 24h)")
	f.Duration("reconcile-depth", 0, "how far back from the capture watermark the source check looks (default 720h, 30 days)")
	f.Int("reconcile-rows-per-s", 0, "upstream rows per second the source check reads at most (default 5000)")
}
