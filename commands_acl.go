package main

import (
	"github.com/spf13/cobra"

	"hotline-bridge/pipeline"
)

func (c *cli) aclCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acl",
		Short: "Provision each unit's Kafka principal and ACLs from the unit catalogue, or list what is in force",
	}
	cmd.AddCommand(c.aclApplyCommand(), c.aclListCommand())
	return cmd
}

func (c *cli) aclApplyCommand() *cobra.Command {
	var opts pipeline.ACLOptions
	cmd := &cobra.Command{
		Use:   "apply [--dry-run] [--credentials-dir DIR] [--rotate UNIT,...]",
		Short: "Give every unit of the catalogue a principal unit-<code> reading only its own topic and broadcast; remove what no unit needs",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Kafka: true})
			if err != nil {
				return err
			}
			return pipeline.ApplyACLs(cmd.Context(), cfg, log, cmd.OutOrStdout(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and change nothing")
	f.StringVar(&opts.CredentialsDir, "credentials-dir", "", "write new credentials here: <unit>.properties (Java) and <unit>.librdkafka.conf, mode 0600")
	f.StringSliceVar(&opts.Rotate, "rotate", nil, "issue new credentials to these units (the old ones stop working)")
	return cmd
}

func (c *cli) aclListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Print every ACL on the broker and every SCRAM user (never a secret)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := c.load(cmd, pipeline.Needs{Kafka: true})
			if err != nil {
				return err
			}
			return pipeline.ListACLs(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
}
