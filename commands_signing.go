package main

import (
	"github.com/spf13/cobra"

	"hotline-bridge/pipeline"
)

func (c *cli) signingKeyCommands() []*cobra.Command {
	public := &cobra.Command{
		Use:   "public",
		Short: "Print every public signing key, retired ones too, as the public keys file districts verify with",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: true})
			if err != nil {
				return err
			}
			return pipeline.PublicKeys(cmd.Context(), cfg, log, cmd.OutOrStdout())
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate-signing",
		Short: "Make a new signing key of signing_algorithm and retire the active one; events signed before still verify",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: true, Kafka: true})
			if err != nil {
				return err
			}
			return pipeline.RotateSigningKey(cmd.Context(), cfg, log, cmd.OutOrStdout())
		},
	}
	return []*cobra.Command{public, rotate}
}
