package main

import (
	"cmp"
	"log/slog"

	"github.com/spf13/cobra"

	"hotline-bridge/handlers/audit"
	"hotline-bridge/pipeline"
	"hotline-bridge/pipeline/progress"
)

// cli holds what every command shares: the config file path and the connection flags.
type cli struct{ configPath string }

func newRootCommand() *cobra.Command {
	c := &cli{}
	root := &cobra.Command{
		Use:           "bridge",
		Short:         "Wuhan's 12315 data exchange: capture, sort, store and distribute national complaint data",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVar(&c.configPath, "config", "", "YAML config file (keys as the flags, with underscores)")
	f.String("upstream-url", "", "national upstream database URL (BRIDGE_UPSTREAM_URL)")
	f.String("store-url", "", "Wuhan's dedicated store database URL (BRIDGE_STORE_URL)")
	f.String("kafka-brokers", "", "Kafka brokers, host:port[,host:port] (BRIDGE_KAFKA_BROKERS)")
	f.String("kafka-version", "", "Kafka protocol version (default 4.1.0)")
	f.String("topic-prefix", "", "prefix of every topic (default wuhan12315)")
	f.String("log-level", "", "debug, info, warn or error")
	f.String("log-format", "", "auto (text on a terminal, JSON otherwise), json or text")
	f.String("units", "", "unit catalogue YAML file replacing the embedded default (BRIDGE_UNITS)")
	f.String("store-schema", "", "schema of the dedicated store (default wuhan)")
	f.String("kafka-security-protocol", "", "PLAINTEXT (default), SASL_PLAINTEXT, SASL_SSL or SSL")
	f.String("kafka-sasl-mechanism", "", "SCRAM-SHA-512 (default) or SCRAM-SHA-256")
	f.String("kafka-sasl-username", "", "SASL user (principal) of the bridge")
	f.String("kafka-sasl-password-file", "", "file holding the SASL password (never the password itself)")
	f.String("kafka-tls-ca-file", "", "PEM file of the CA that signed the broker's certificate (default: the system's roots)")
	f.String("kafka-tls-cert-file", "", "PEM client certificate, with --kafka-tls-key-file")
	f.String("kafka-tls-key-file", "", "PEM private key of the client certificate")
	f.String("encryption-key-file", "", "file of 32 random bytes sealing personal data at rest in the store (unset: kept in clear)")
	f.String("encryption-old-key-files", "", "key files that only open what earlier keys sealed, comma-separated (for bridge keys rotate)")
	f.String("encryption-algorithm", "", "AES-256-GCM (default) or SM4-GCM")
	f.String("signing-algorithm", "", "ed25519 (default) or sm2-sm3: how the bridge signs the events it makes a key for")
	f.String("signing-key-file", "", "PKCS#8 PEM private key to sign events with (default: a key the bridge keeps in the store)")
	prof := &profiles{}
	prof.flags(root)
	var stopProfiles func() error
	root.PersistentPreRunE = func(*cobra.Command, []string) (err error) {
		stopProfiles, err = prof.start()
		return err
	}
	root.PersistentPostRunE = func(*cobra.Command, []string) error { return stopProfiles() }
	root.AddCommand(c.migrateCommand(), c.seedCommand(), c.runCommand(), c.tailCommand(), c.auditCommand(), c.logsCommand(), c.reconcileCommand(), c.replayCommand(), c.reportCommand(), c.aclCommand(), c.keysCommand(), c.gatewayCommand(), c.demoCommand(),
		c.inspectCommand(), c.backupCommand(), c.restoreCommand(), versionCommand())
	return root
}

// load reads and validates the configuration for a command; every problem is reported at once.
func (c *cli) load(cmd *cobra.Command, needs pipeline.Needs) (pipeline.Config, *slog.Logger, error) {
	cfg, err := pipeline.LoadConfig(c.configPath, cmd.Flags())
	if err != nil {
		return cfg, nil, err
	}
	if err := cfg.Validate(needs); err != nil {
		return cfg, nil, err
	}
	return cfg, cfg.Logger(cmd.ErrOrStderr()), nil
}

func (c *cli) migrateCommand() *cobra.Command {
	var upstream bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the bridge's own schema (idempotent); --upstream creates the reference national tables",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: !upstream, Upstream: upstream})
			if err != nil {
				return err
			}
			return pipeline.Migrate(cmd.Context(), cfg, log, upstream)
		},
	}
	cmd.Flags().BoolVar(&upstream, "upstream", false, "create the reference upstream schema in --upstream-url instead")
	return cmd
}

func (c *cli) runCommand() *cobra.Command {
	var untilIdle bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the bridge continuously",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Upstream: true, Store: true, Kafka: true})
			if err != nil || !untilIdle {
				return cmp.Or(err, pipeline.Run(cmd.Context(), cfg, log, false))
			}
			// A catch-up shows how far it is; the logs go through the display, so they do not tear its bars.
			counts := pipeline.NewRunProgress()
			shown := progress.Show(cmd.Context(), cmd.ErrOrStderr(), counts.Stages(), progress.Options{})
			defer shown.Stop()
			return pipeline.RunCounted(cmd.Context(), cfg, cfg.Logger(shown), true, counts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&untilIdle, "until-idle", false, "exit 0 once every kind is caught up and everything produced is on the broker")
	f.Int("batch-size", 0, "rows per capture page and publish batch (default 2000)")
	f.Duration("poll-interval", 0, "pause after a round that found nothing new (default 1s)")
	f.Duration("max-commit-delay", 0, "how late after its update_time a row may still commit upstream (default 5m)")
	f.Int("partitions", 0, "partitions of topics the bridge creates (default 6)")
	f.Int("replication", 0, "replication factor of topics the bridge creates (default 1)")
	f.Duration("orphan-after", 0, "how long a row waits for its parent before quarantine (default 24h)")
	f.Duration("ledger-retention", 0, "how long the ledger remembers a row that is not Wuhan's (default 24h)")
	f.Duration("transfer-log-retention", 0, "how long the download and distribution logs keep an entry (default 4320h, 180 days)")
	f.String("http-addr", "", "serve /metrics, /healthz and /readyz on host:port; empty serves nothing (default 127.0.0.1:9464)")
	f.Bool("gateway-enabled", false, "serve the sign-for and feedback gateway on gateway_addr too (see bridge gateway)")
	f.String("gateway-addr", "", "where the gateway listens with --gateway-enabled (default 127.0.0.1:8315)")
	f.Duration("reconcile-interval", 0, "how often to reconcile delivery and source; 0 turns it off (default 1h)")
	f.Duration("kafka-session-timeout", 0, "how long after an instance dies its consumers' partitions pass to others or to its restart (default 10s)")
	addSourceFlags(f)
	f.String("consumer-groups", "", "district consumer groups to check, unit=group[,unit=group] (BRIDGE_CONSUMER_GROUPS)")
	f.Duration("capture-retention", 0, "retention of the capture topics the bridge creates, how far back a replay from capture reaches; 0 is the broker's default")
	f.Float64("replay-rows-per-s", 0, "at most this many rows a second for replay jobs; 0 is no bound")
	f.Duration("inspect-interval", 0, "how often to inspect and keep the report for the status page; 0 turns it off (default 5m)")
	f.String("report-dir", "", "write yesterday's report (bridge report --out) into DIR/YYYY-MM-DD once a day; empty: none")
	return cmd
}

func (c *cli) seedCommand() *cobra.Command {
	var opts pipeline.SeedOptions
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Fill the reference upstream with synthetic national data (deterministic per --seed)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Upstream: true})
			if err != nil {
				return err
			}
			opts.Change.Seed = opts.Generate.Seed
			opts.Changes = opts.Changes || opts.Skip
			opts.Progress = cmd.ErrOrStderr() // beside the logs, never on stdout where a caller may read results
			generated, changed, err := pipeline.Seed(cmd.Context(), cfg, log, opts)
			if err != nil {
				return err // not "seeded ... total=0": a seed that failed must not read as one that found nothing to do
			}
			log.Info("seeded national upstream", "generated", generated.String(), "changed", changed.String())
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Generate.Registrations, "registrations", 20000, "national registrations to create, each with its family")
	f.Float64Var(&opts.Generate.WuhanShare, "wuhan-share", 0.04, "share of registrations handled in Wuhan")
	f.Int64Var(&opts.Generate.Seed, "seed", 1, "random seed; the same seed gives the same data")
	f.IntVar(&opts.Generate.Days, "days", 30, "spread registrations over this many days")
	f.BoolVar(&opts.Changes, "changes", false, "then keep changing the data like the live platform")
	f.BoolVar(&opts.Skip, "changes-only", false, "do not generate; only apply --changes to existing data")
	f.IntVar(&opts.Change.Rounds, "rounds", 10, "with --changes: rounds of changes (0 = until interrupted)")
	f.IntVar(&opts.Change.BatchSize, "change-batch", 200, "with --changes: changes per round")
	f.DurationVar(&opts.Change.Interval, "interval", 0, "with --changes: pause between rounds")
	return cmd
}

func (c *cli) tailCommand() *cobra.Command {
	var opts pipeline.TailOptions
	cmd := &cobra.Command{
		Use:   "tail --unit CODE",
		Short: "Read a unit's topic as a district consumer would; print its events and optionally write the unit's state",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := c.load(cmd, pipeline.Needs{Kafka: true})
			if err != nil {
				return err
			}
			_, err = pipeline.Tail(cmd.Context(), cfg, cmd.OutOrStdout(), opts)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Unit, "unit", "", "unit code, e.g. 420106, dhgx, city, or broadcast")
	f.BoolVar(&opts.FromBeginning, "from-beginning", false, "read the topic from its first event")
	f.BoolVar(&opts.Follow, "follow", false, "keep reading new events until interrupted")
	f.StringVar(&opts.StatePath, "state", "", "write the unit's materialised rows as JSON to this file")
	f.BoolVar(&opts.Verify, "verify", false, "check every event's signature against the published keys; report and skip each that fails, exit 1 if any did")
	f.StringVar(&opts.KeysFile, "keys-file", "", "with --verify: the public keys file (bridge keys public) instead of the keys topic")
	_ = cmd.MarkFlagRequired("unit")
	return cmd
}

func (c *cli) auditCommand() *cobra.Command {
	var q audit.Query
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit --reg-no NO | --table T --id ID",
		Short: "Print a work order's journey (with its family) or a row's from the audit trail; exit 1 if unknown",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := c.load(cmd, pipeline.Needs{Store: true})
			if err != nil {
				return err
			}
			return pipeline.Audit(cmd.Context(), cfg, log, cmd.OutOrStdout(), q, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.RegNo, "reg-no", "", "registration number (登记编号): the work order and every row of its family")
	f.StringVar(&q.Table, "table", "", "record kind (upstream table), with --id")
	f.StringVar(&q.ID, "id", "", "row id, with --table")
	f.BoolVar(&asJSON, "json", false, "one JSON object per line and hop")
	return cmd
}

func (c *cli) demoCommand() *cobra.Command {
	var opts pipeline.DemoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole bridge on a throwaway PostgreSQL and an embedded broker, and show what each unit received",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := c.load(cmd, pipeline.Needs{})
			if err != nil {
				return err
			}
			log := pipeline.NewLogger(cmd.ErrOrStderr(), "warn")
			return pipeline.Demo(cmd.Context(), cfg, log, cmd.OutOrStdout(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Registrations, "registrations", 5000, "national registrations to seed")
	cmd.Flags().StringVar(&opts.Unit, "unit", "420106", "unit whose first events to show")
	return cmd
}
