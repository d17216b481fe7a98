package pipeline

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/infra/atrest"
	"hotline-bridge/infra/kafka"
)

// Config is the bridge's whole configuration. Keys are the same in a YAML file, as BRIDGE_<KEY> environment
// variables and as --<key-with-dashes> flags; later sources win in that order.
type Config struct {
	UpstreamURL    string        `koanf:"upstream_url"`
	StoreURL       string        `koanf:"store_url"`
	KafkaBrokers   []string      `koanf:"kafka_brokers"`
	KafkaVersion   string        `koanf:"kafka_version"`
	Partitions     int           `koanf:"partitions"`
	Replication    int           `koanf:"replication"`
	TopicPrefix    string        `koanf:"topic_prefix"`
	BatchSize      int           `koanf:"batch_size"`
	PollInterval   time.Duration `koanf:"poll_interval"`
	MaxCommitDelay time.Duration `koanf:"max_commit_delay"`
	LogLevel       string        `koanf:"log_level"`
	StoreSchema    string        `koanf:"store_schema"`
	Units          string        `koanf:"units"` // unit catalogue YAML file; empty = the embedded default
	OrphanAfter    time.Duration `koanf:"orphan_after"`
	// LedgerRetention is how long the ledger remembers a row that is not Wuhan's, of a kind nothing depends on:
	// long enough that no older version of it can still be delivered.
	LedgerRetention time.Duration `koanf:"ledger_retention"`
	// AuditRetention is how long the audit trail keeps a hop: six months at least, the Cybersecurity Law's minimum
	// for network logs.
	AuditRetention time.Duration `koanf:"audit_retention"`
	// TransferLogRetention is how long the download and distribution logs keep an entry.
	TransferLogRetention time.Duration `koanf:"transfer_log_retention"`
	LogFormat            string        `koanf:"log_format"` // auto, json or text
	// HTTPAddr is where bridge run serves /metrics, /healthz and /readyz; empty serves nothing.
	HTTPAddr string `koanf:"http_addr"`
	// ReconcileInterval is how often bridge run reconciles delivery; 0 disables it.
	ReconcileInterval time.Duration `koanf:"reconcile_interval"`
	// ReconcileWindow is the span of update_time source reconciliation compares at once, walking back from the
	// capture watermark over ReconcileDepth.
	ReconcileWindow time.Duration `koanf:"reconcile_window"`
	ReconcileDepth  time.Duration `koanf:"reconcile_depth"`
	// ReconcileRowsPerS bounds how many upstream rows per second source reconciliation reads: the national
	// platform is shared.
	ReconcileRowsPerS int `koanf:"reconcile_rows_per_s"`
	// ConsumerGroups names each district's consumer group by unit code, for the reconciliation to check.
	ConsumerGroups map[string]string `koanf:"consumer_groups"`
	// CaptureRetention is retention.ms of the capture topics the bridge creates (0: the broker's default): how far
	// back bridge replay --from capture can re-sort.
	CaptureRetention time.Duration `koanf:"capture_retention"`
	// ReplayRowsPerS bounds how fast a replay reads and sends (0: no bound); the national platform is shared.
	ReplayRowsPerS float64 `koanf:"replay_rows_per_s"`
	// ReportDir is where bridge run writes yesterday's report once a day (empty: no daily report).
	ReportDir string `koanf:"report_dir"`
	// KafkaSessionTimeout is how long after a bridge instance dies (SIGKILL, a lost host) the broker hands its
	// share of the sort, quarantine and audit consumers to the instances still running, or to its restart.
	KafkaSessionTimeout time.Duration `koanf:"kafka_session_timeout"`
	// PGBinDir is where bridge backup and restore find pg_dump and pg_restore; empty: the Debian directory of the
	// store server's major version, else PATH.
	PGBinDir      string `koanf:"pg_bin_dir"`
	KafkaSecurity `koanf:",squash"`
	InspectConfig `koanf:",squash"`
	Gateway       `koanf:",squash"`
	Encryption    `koanf:",squash"`
	Signing       `koanf:",squash"`
}

// Gateway configures the sign-for and feedback gateway (bridge gateway, and bridge run with gateway_enabled).
type Gateway struct {
	// GatewayAddr is where the gateway listens.
	GatewayAddr string `koanf:"gateway_addr"`
	// GatewayEnabled makes bridge run serve the gateway too; bridge gateway always does.
	GatewayEnabled bool `koanf:"gateway_enabled"`
	// GatewayHotline is the caller that acts for any unit (the 12345 hotline); empty: none does.
	GatewayHotline string `koanf:"gateway_hotline"`
	// GatewayMaxBody is the largest request body read, in bytes.
	GatewayMaxBody int64 `koanf:"gateway_max_body"`
	// GatewayRate and GatewayBurst bound each caller's requests per second, per gateway instance.
	GatewayRate  float64 `koanf:"gateway_rate"`
	GatewayBurst int     `koanf:"gateway_burst"`
	// GatewayRequestTimeout bounds one request's work, the store's included.
	GatewayRequestTimeout time.Duration `koanf:"gateway_request_timeout"`
	// GatewayConfirmInterval is how often accepted requests are checked against the captured national rows.
	GatewayConfirmInterval time.Duration `koanf:"gateway_confirm_interval"`
}

// KafkaSecurity is how the bridge authenticates to the broker and checks it. The password is named by a file,
// never given inline: nothing secret on a command line, in a process listing or in the config file.
type KafkaSecurity struct {
	SecurityProtocol string `koanf:"kafka_security_protocol"` // PLAINTEXT, SASL_PLAINTEXT, SASL_SSL or SSL
	SASLMechanism    string `koanf:"kafka_sasl_mechanism"`    // SCRAM-SHA-512 or SCRAM-SHA-256
	SASLUsername     string `koanf:"kafka_sasl_username"`
	SASLPasswordFile string `koanf:"kafka_sasl_password_file"`
	TLSCAFile        string `koanf:"kafka_tls_ca_file"`
	TLSCertFile      string `koanf:"kafka_tls_cert_file"`
	TLSKeyFile       string `koanf:"kafka_tls_key_file"`
}

// Needs says which connections a command requires, so that Validate reports only what matters to it.
type Needs struct{ Upstream, Store, Kafka bool }

func defaults() map[string]any {
	return map[string]any{
		"kafka_version":    "4.1.0",
		"partitions":       6,
		"replication":      1,
		"topic_prefix":     "wuhan12315",
		"batch_size":       2000,
		"poll_interval":    "1s",
		"max_commit_delay": "5m",
		"log_level":        "info",
		"store_schema":     "wuhan",
		"orphan_after":     "24h",
		"ledger_retention": "24h",
		"audit_retention":  "4320h",
		// 180 days: the Cybersecurity Law asks network logs be kept at least six months.
		"transfer_log_retention":   "4320h",
		"log_format":               "auto",
		"http_addr":                "127.0.0.1:9464",
		"reconcile_interval":       "1h",
		"kafka_security_protocol":  kafka.Plaintext,
		"kafka_sasl_mechanism":     kafka.SCRAMSHA512,
		"reconcile_window":         "24h",
		"reconcile_depth":          "720h",
		"reconcile_rows_per_s":     5000,
		"capture_retention":        "0s",
		"replay_rows_per_s":        0,
		"gateway_addr":             "127.0.0.1:8315",
		"gateway_enabled":          false,
		"gateway_hotline":          "12345",
		"gateway_max_body":         64 << 10,
		"gateway_rate":             10,
		"gateway_burst":            20,
		"gateway_request_timeout":  "10s",
		"gateway_confirm_interval": "5s",
		"pg_bin_dir":               "",
		"kafka_session_timeout":    "10s",
		"encryption_algorithm":     atrest.AES256GCM,
		"signing_algorithm":        "ed25519",
		"report_dir":               "",
	}
}

// LoadConfig reads defaults, then the YAML file at path (if any), then BRIDGE_* variables, then changed flags.
func LoadConfig(path string, flags *pflag.FlagSet) (Config, error) {
	k := koanf.New(".")
	_ = k.Load(confmap.Provider(defaults(), "."), nil)
	_ = k.Load(confmap.Provider(inspectDefaults(), "."), nil)
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("read config file %s: %w", path, err)
		}
	}
	if err := k.Load(env.Provider(".", env.Opt{Prefix: "BRIDGE_", TransformFunc: fromEnv}), nil); err != nil {
		return Config{}, fmt.Errorf("read environment: %w", err)
	}
	if flags != nil {
		if err := k.Load(posflag.ProviderWithFlag(flags, ".", k, fromFlag), nil); err != nil {
			return Config{}, fmt.Errorf("read flags: %w", err)
		}
	}
	var cfg Config
	if err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

func fromEnv(key, value string) (string, any) {
	key = strings.ToLower(strings.TrimPrefix(key, "BRIDGE_"))
	switch key {
	case "kafka_brokers", "encryption_old_key_files":
		return key, splitList(value)
	case "consumer_groups":
		return key, splitPairs(value)
	}
	return key, value
}

func fromFlag(f *pflag.Flag) (string, any) {
	key := strings.ReplaceAll(f.Name, "-", "_")
	switch key {
	case "kafka_brokers", "encryption_old_key_files":
		return key, splitList(f.Value.String())
	case "consumer_groups":
		return key, splitPairs(f.Value.String())
	}
	// Strings suffice: the decoder converts "6" and "1s" to the fields' types, as it does for environment values.
	return key, f.Value.String()
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(strings.Trim(s, "[]"), ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// splitPairs reads "unit=group,unit=group"; a pair without "=" is kept whole with an empty group, for Validate
// to name.
func splitPairs(s string) map[string]any {
	out := map[string]any{}
	for _, pair := range splitList(s) {
		unit, group, _ := strings.Cut(pair, "=")
		out[strings.TrimSpace(unit)] = strings.TrimSpace(group)
	}
	return out
}

var logFormats = map[string]bool{"auto": true, "json": true, "text": true}

var schemaPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

var topicPrefixPattern = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// Validate reports every problem at once.
func (c Config) Validate(needs Needs) error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	if needs.Upstream {
		errs = append(errs, checkURL("upstream_url (BRIDGE_UPSTREAM_URL)", c.UpstreamURL))
	}
	if needs.Store {
		errs = append(errs, checkURL("store_url (BRIDGE_STORE_URL)", c.StoreURL))
	}
	if needs.Kafka {
		check(len(c.KafkaBrokers) == 0, "kafka_brokers (BRIDGE_KAFKA_BROKERS) is required: host:port[,host:port]")
		for _, b := range c.KafkaBrokers {
			check(!strings.Contains(b, ":"), "kafka_brokers: %q is not host:port", b)
		}
		check(c.Partitions < 1, "partitions must be at least 1, got %d", c.Partitions)
		check(c.Replication < 1, "replication must be at least 1, got %d", c.Replication)
		_, err := sarama.ParseKafkaVersion(c.KafkaVersion)
		check(err != nil, "kafka_version %q is not a Kafka release such as 4.1.0", c.KafkaVersion)
		check(c.KafkaSessionTimeout < time.Second || c.KafkaSessionTimeout > 30*time.Minute,
			"kafka_session_timeout must be 1s..30m (and within the broker's group.min/max.session.timeout.ms, 6s..30m by default), got %s", c.KafkaSessionTimeout)
		errs = append(errs, c.KafkaSecurity.validate())
	}
	check(!topicPrefixPattern.MatchString(c.TopicPrefix), "topic_prefix %q: use letters, digits, '.', '_' or '-'", c.TopicPrefix)
	check(c.BatchSize < 1 || c.BatchSize > 100000, "batch_size must be 1..100000, got %d", c.BatchSize)
	check(c.PollInterval <= 0, "poll_interval must be positive, got %s", c.PollInterval)
	check(c.MaxCommitDelay < 0, "max_commit_delay must not be negative, got %s", c.MaxCommitDelay)
	check(!schemaPattern.MatchString(c.StoreSchema), "store_schema %q: use lower-case letters, digits and '_'", c.StoreSchema)
	check(c.OrphanAfter <= 0, "orphan_after must be positive, got %s", c.OrphanAfter)
	check(c.AuditRetention < 180*24*time.Hour, "audit_retention must be at least 4320h (180 days, the Cybersecurity Law's minimum for network logs), got %s", c.AuditRetention)
	check(c.LedgerRetention < time.Hour, "ledger_retention must be at least 1h (a redelivery after a crash must still find the newer version), got %s", c.LedgerRetention)
	check(c.TransferLogRetention < time.Hour, "transfer_log_retention must be at least 1h, got %s (the Cybersecurity Law asks for six months, 4320h)", c.TransferLogRetention)
	check(!logFormats[c.LogFormat], "log_format must be auto, json or text, got %q", c.LogFormat)
	errs = append(errs, checkHTTPAddr(c.HTTPAddr), c.Gateway.validate(), checkReportDir(c.ReportDir))
	check(c.CaptureRetention != 0 && c.CaptureRetention < time.Hour, "capture_retention must be 0 (the broker's default) or at least 1h, got %s", c.CaptureRetention)
	errs = append(errs, c.Signing.validate())
	check(c.ReplayRowsPerS < 0, "replay_rows_per_s must not be negative (0: no bound), got %g", c.ReplayRowsPerS)
	check(c.ReconcileInterval != 0 && c.ReconcileInterval < time.Minute, "reconcile_interval must be 0 (off) or at least 1m, got %s", c.ReconcileInterval)
	check(c.ReconcileWindow < time.Minute, "reconcile_window must be at least 1m, got %s", c.ReconcileWindow)
	check(c.ReconcileDepth < c.ReconcileWindow, "reconcile_depth must be at least reconcile_window (%s), got %s", c.ReconcileWindow, c.ReconcileDepth)
	check(c.ReconcileWindow >= time.Minute && c.ReconcileDepth/c.ReconcileWindow > 10000,
		"reconcile_depth %s is over 10000 windows of %s: take a larger reconcile_window", c.ReconcileDepth, c.ReconcileWindow)
	errs = append(errs, c.Encryption.validate())
	check(c.ReconcileRowsPerS < 1, "reconcile_rows_per_s must be at least 1, got %d", c.ReconcileRowsPerS)
	errs = append(errs, c.InspectConfig.validate())
	if _, err := c.units(); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, c.checkConsumerGroups(), c.checkHotline())
	}
	check(!map[string]bool{"debug": true, "info": true, "warn": true, "error": true}[c.LogLevel],
		"log_level must be debug, info, warn or error, got %q", c.LogLevel)
	return errors.Join(errs...)
}

func checkURL(name, raw string) error {
	if raw == "" {
		return fmt.Errorf("%s is required", name)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return fmt.Errorf("%s must be a postgres://user@host:port/db URL", name)
	}
	return nil
}

// checkHTTPAddr accepts host:port with a port number (0 picks a free one), or empty to serve nothing.
func checkHTTPAddr(addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if n, convErr := strconv.Atoi(port); err != nil || convErr != nil || n < 0 || n > 65535 {
		return fmt.Errorf("http_addr (BRIDGE_HTTP_ADDR) %q: want host:port, e.g. 127.0.0.1:9464, or empty to serve nothing", addr)
	}
	return nil
}

// checkReportDir accepts a directory, or a path not there yet (the daily report creates it), or empty.
func checkReportDir(dir string) error {
	if dir == "" {
		return nil
	}
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		return fmt.Errorf("report_dir (BRIDGE_REPORT_DIR) %s is a file, not a directory", dir)
	}
	return nil
}

// units loads the unit catalogue: the file named by units, or the embedded default.
func (c Config) units() (*jurisdiction.Units, error) {
	if c.Units == "" {
		return jurisdiction.DefaultUnits(), nil
	}
	data, err := os.ReadFile(c.Units)
	if err != nil {
		return nil, fmt.Errorf("units (BRIDGE_UNITS): %w", err)
	}
	units, err := jurisdiction.ParseUnits(data)
	if err != nil {
		return nil, fmt.Errorf("units file %s: %w", c.Units, err)
	}
	return units, nil
}

// checkConsumerGroups reports every consumer_groups entry whose unit is not in the catalogue or whose group is
// empty.
func (c Config) checkConsumerGroups() error {
	units, _ := c.units()
	codes := append(units.Codes(), events.BroadcastUnit)
	var errs []error
	for _, unit := range slices.Sorted(maps.Keys(c.ConsumerGroups)) {
		if !slices.Contains(codes, unit) {
			errs = append(errs, fmt.Errorf("consumer_groups: %q is not a unit code (%s)", unit, strings.Join(codes, ", ")))
		}
		if c.ConsumerGroups[unit] == "" {
			errs = append(errs, fmt.Errorf("consumer_groups: unit %q has no group id (write unit=group)", unit))
		}
	}
	return errors.Join(errs...)
}
