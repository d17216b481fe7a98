package main

import (
	"github.com/spf13/cobra"

	"hotline-bridge/pipeline"
)

func (c *cli) reconcileCommand() *cobra.Command {
	var opts pipeline.ReconcileOptions
	cmd := &cobra.Command{
		Use:   "reconcile --once [--dry-run] [--json] [--only delivery]",
		Short: "Check that every unit topic still holds what the store distributed, re-send what it lost; exit 1 if something could not be repaired",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: true, Kafka: true})
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
	f.StringSliceVar(&opts.Only, "only", nil, "run only these checks: delivery (source is not available yet)")
	f.String("consumer-groups", "", "district consumer groups to check, unit=group[,unit=group] (BRIDGE_CONSUMER_GROUPS)")
	f.Int("partitions", 0, "partitions of a missing unit topic the repair creates (default 6)")
	f.Int("replication", 0, "replication factor of a missing unit topic the repair creates (default 1)")
	return cmd
}
