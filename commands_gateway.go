package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"hotline-bridge/pipeline"
)

func (c *cli) gatewayCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Serve the sign-for and feedback API (签收与反馈网关) on gateway_addr; `token` manages its callers' tokens",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: true})
			if err != nil {
				return err
			}
			return pipeline.ServeGateway(cmd.Context(), cfg, log, pipeline.GatewayHooks{})
		},
	}
	f := cmd.Flags()
	f.String("gateway-addr", "", "listen on host:port (default 127.0.0.1:8315)")
	f.String("gateway-hotline", "", "the caller that acts for any unit (default 12345; empty: none)")
	f.Int64("gateway-max-body", 0, "largest request body in bytes (default 65536)")
	f.Float64("gateway-rate", 0, "requests a second per caller (default 10)")
	f.Int("gateway-burst", 0, "requests a caller may send at once (default 20)")
	f.Duration("gateway-request-timeout", 0, "bound of one request's work (default 10s)")
	f.Duration("gateway-confirm-interval", 0, "how often accepted requests are checked against the captured national rows (default 5s)")
	cmd.AddCommand(c.gatewayTokenCommand())
	return cmd
}

func (c *cli) gatewayTokenCommand() *cobra.Command {
	token := &cobra.Command{Use: "token", Short: "Create, revoke or list the gateway's bearer tokens"}
	var caller string
	var expires time.Duration
	create := &cobra.Command{
		Use:   "create --unit CODE [--expires 720h]",
		Short: "Issue a token acting for a unit (or the hotline caller); prints the token alone on stdout, shown once",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: true})
			if err != nil {
				return err
			}
			t, err := pipeline.CreateGatewayToken(cmd.Context(), cfg, log, caller, expires)
			if err == nil {
				_, err = fmt.Fprintln(cmd.OutOrStdout(), t)
			}
			return err
		},
	}
	create.Flags().StringVar(&caller, "unit", "", "unit code the token acts for (e.g. 420106), or the hotline caller (12345)")
	create.Flags().DurationVar(&expires, "expires", 720*time.Hour, "how long the token is valid")
	_ = create.MarkFlagRequired("unit")
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token by the id `token list` shows",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: true})
			if err != nil {
				return err
			}
			return pipeline.RevokeGatewayToken(cmd.Context(), cfg, log, args[0])
		},
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the tokens: id, caller, created, expires, live, expired or revoked (never the token itself)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: true})
			if err != nil {
				return err
			}
			return pipeline.ListGatewayTokens(cmd.Context(), cfg, log, cmd.OutOrStdout(), asJSON)
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line and token")
	token.AddCommand(create, revoke, list)
	return token
}
