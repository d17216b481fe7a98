package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"hotline-bridge/pipeline"
)

func (c *cli) inspectCommand() *cobra.Command {
	var opts pipeline.InspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [--json] [--html FILE]",
		Short: "Inspect (巡检) the upstream, store, broker, capture, queues, reconciliation, district groups and disk; exit 0 ok, 1 warning, 2 critical",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Upstream: true, Store: true, Kafka: true})
			if err != nil {
				return err
			}
			return pipeline.Inspect(cmd.Context(), cfg, log, cmd.OutOrStdout(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	f.StringVar(&opts.HTML, "html", "", "also write the report as a self-contained HTML page to FILE")
	f.String("consumer-groups", "", "district consumer groups to check, unit=group[,unit=group] (BRIDGE_CONSUMER_GROUPS)")
	f.Duration("max-commit-delay", 0, "capture's settle line, for the capture lag (default 5m)")
	f.Duration("inspect-capture-lag-warning", 0, "capture lag over this is a warning (default 15m)")
	f.Duration("inspect-capture-lag-critical", 0, "capture lag over this is critical (default 1h)")
	f.Duration("inspect-outbox-age-warning", 0, "an unpublished outbox event older than this is a warning (default 5m)")
	f.Duration("inspect-outbox-age-critical", 0, "an unpublished outbox event older than this is critical (default 30m)")
	f.Duration("inspect-parked-age-warning", 0, "a row parked longer than this is a warning (default 1h)")
	f.Duration("inspect-quarantine-window", 0, "a row quarantined within this is a warning (default 24h)")
	f.Int64("inspect-group-lag-warning", 0, "a district group lagging more events than this is a warning (default 10000)")
	f.Float64("inspect-disk-free-warning", 0, "less free space than this percentage is a warning (default 20)")
	f.Float64("inspect-disk-free-critical", 0, "less free space than this percentage is critical (default 10)")
	f.Duration("inspect-reconcile-age-warning", 0, "a last reconciliation older than this is a warning; 0 does not check (default 3h)")
	return cmd
}

func (c *cli) backupCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "backup --to DIR",
		Short: "Back up the store database (the dedicated store and the bridge's state) with pg_dump into DIR, with a manifest",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: true})
			if err != nil {
				return err
			}
			return pipeline.Backup(cmd.Context(), cfg, log, cmd.OutOrStdout(), dir)
		},
	}
	cmd.Flags().StringVar(&dir, "to", "", "a new or empty directory for the backup")
	cmd.Flags().String("pg-bin-dir", "", "directory of pg_dump and pg_restore (default: the server's /usr/lib/postgresql/N/bin, else PATH)")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func (c *cli) restoreCommand() *cobra.Command {
	var opts pipeline.RestoreOptions
	cmd := &cobra.Command{
		Use:   "restore --from DIR [--force]",
		Short: "Check a backup against its manifest and restore it with pg_restore into store_url; refuses a non-empty database unless --force",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: true})
			if err != nil {
				return err
			}
			return pipeline.Restore(cmd.Context(), cfg, log, cmd.OutOrStdout(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.From, "from", "", "a directory bridge backup wrote")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "restore into a database that holds tables: what the backup holds is dropped and replaced")
	cmd.Flags().String("pg-bin-dir", "", "directory of pg_dump and pg_restore (default: the server's /usr/lib/postgresql/N/bin, else PATH)")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

func versionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version [--json]",
		Short: "Print the bridge's version, commit and Go version, from the build information",
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := pipeline.Version()
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(v)
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "hotline-bridge", v)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print it as JSON")
	return cmd
}
