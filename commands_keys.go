package main

import (
	"github.com/spf13/cobra"

	"hotline-bridge/pipeline"
)

// keysCommand groups the key commands: the keys that seal personal data at rest, and those that sign events.
func (c *cli) keysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the keys that seal personal data at rest and those that sign distribution events",
	}
	cmd.AddCommand(c.keysRotateCommand())
	cmd.AddCommand(c.signingKeyCommands()...)
	return cmd
}

func (c *cli) keysRotateCommand() *cobra.Command {
	opts := pipeline.RotateOptions{BatchSize: 500, MaxPasses: 10}
	cmd := &cobra.Command{
		Use:   "rotate [--new-key-file FILE]",
		Short: "Reseal every copy of personal data in the store under the new key, in batches beside a running bridge",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: true})
			if err != nil {
				return err
			}
			return pipeline.RotateKeys(cmd.Context(), cfg, log, cmd.OutOrStdout(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.NewKeyFile, "new-key-file", "", "the key to reseal under (32 random bytes); default encryption_key_file")
	f.IntVar(&opts.BatchSize, "batch", opts.BatchSize, "rows per reseal transaction")
	f.IntVar(&opts.MaxPasses, "max-passes", opts.MaxPasses, "passes before giving up while values keep arriving under another key")
	return cmd
}
