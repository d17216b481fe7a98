package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"hotline-bridge/events"
	"hotline-bridge/handlers/access"
	"hotline-bridge/infra/dev/localkafka"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
)

// securedEnv is a bridge env on the shared secured broker, connecting as the bridge's super user over SASL_SSL.
func securedEnv(t *testing.T) (*bridgeEnv, testenv.SecuredBroker) {
	t.Helper()
	broker := testenv.SecuredKafka(t)
	e := newBridgeEnv(t, []string{broker.TLSAddr})
	e.cfg.TopicPrefix = strings.TrimSuffix(e.cfg.TopicPrefix, ".")
	e.cfg.KafkaSecurity = pipeline.KafkaSecurity{
		SecurityProtocol: kafka.SASLSSL, SASLMechanism: kafka.SCRAMSHA512, SASLUsername: broker.Username,
		SASLPasswordFile: broker.PasswordFile, TLSCAFile: broker.Certs.CA,
	}
	if err := e.cfg.Validate(pipeline.Needs{Upstream: true, Store: true, Kafka: true}); err != nil {
		t.Fatal(err)
	}
	return e, broker
}

// A seeded bridge runs on the secured broker; bridge acl apply gives every unit its principal; unit A's
// credentials, in the Java form Kafka's own console consumer reads and in the librdkafka form, read A's topic and
// broadcast and nothing else: B's topic and the capture topics are refused, producing anywhere is refused, and so
// is B's consumer group. A second apply changes nothing; a unit dropped from the catalogue loses its ACLs and its
// credentials. No personal value appears in any log line or command output.
func TestSecuredRunAndUnitACLs(t *testing.T) {
	t.Parallel()
	e, broker := securedEnv(t)
	ctx := context.Background()
	if _, err := seed.Generate(ctx, e.upstream, seed.Options{Registrations: 300, WuhanShare: 0.5, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.SyncBuffer{}
	log := pipeline.NewLoggerAs(logs, "debug", "json", false)
	outputs := &bytes.Buffer{}

	dry := applyACLs(t, e, pipeline.ACLOptions{DryRun: true})
	outputs.WriteString(dry)
	if !strings.Contains(dry, "create  Allow User:unit-420106 Read Topic:Literal "+e.cfg.TopicPrefix+".420106:*") ||
		!strings.Contains(dry, "dry run: nothing changed") {
		t.Fatalf("dry run plan:\n%s", dry)
	}
	if listed := listACLs(t, e); strings.Contains(listed, "unit-") {
		t.Fatalf("the dry run changed the broker:\n%s", listed)
	}
	dir := t.TempDir()
	first := applyACLs(t, e, pipeline.ACLOptions{CredentialsDir: dir})
	outputs.WriteString(first)
	units := len(unitCodes(t))
	if !strings.Contains(first, "0 ACLs in force, "+itoa(units*8)+" to create, 0 to delete; "+itoa(units)+" credentials to issue") {
		t.Fatalf("first apply:\n%s", first)
	}
	second := applyACLs(t, e, pipeline.ACLOptions{CredentialsDir: dir})
	if !strings.Contains(second, itoa(units*8)+" ACLs in force, 0 to create, 0 to delete; 0 credentials to issue, 0 users to remove: nothing to change") {
		t.Fatalf("a second apply must change nothing:\n%s", second)
	}

	runCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := pipeline.Run(runCtx, e.cfg, log, true); err != nil {
		t.Fatalf("bridge run --until-idle on the secured broker: %v", err)
	}
	store := storeQuerier(t, e)
	busiest := store.strings(t, `SELECT unit_code FROM bridge.outbox WHERE unit_code <> 'broadcast'
		GROUP BY unit_code ORDER BY count(*) DESC, unit_code LIMIT 2`)
	if len(busiest) < 2 {
		t.Fatalf("events for %d units: the seed must reach two", len(busiest))
	}
	a, b := busiest[0], busiest[1]
	for _, name := range []string{a + ".properties", a + ".librdkafka.conf"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v; want mode 0600", name, err, info.Mode().Perm())
		}
	}

	t.Run("the console consumer reads its own topic with its own group", func(t *testing.T) {
		want := store.strings(t, `SELECT record_key FROM bridge.outbox WHERE unit_code = '`+a+`' ORDER BY record_key`)
		got := consoleConsume(t, broker.TLSAddr, events.UnitTopic(e.cfg.TopicPrefix, a), len(want),
			filepath.Join(dir, a+".properties"), access.GroupPrefix(e.cfg.TopicPrefix, a)+"console")
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("unit %s's console consumer read %d keys, want the %d the bridge published: %v", a, len(got), len(want), got)
		}
	})
	unitA := librdkafkaSecurity(t, filepath.Join(dir, a+".librdkafka.conf"))
	t.Run("the librdkafka form reads broadcast", func(t *testing.T) {
		want := store.count(t, `SELECT count(*) FROM bridge.outbox WHERE unit_code = 'broadcast'`)
		got := 0
		cfg := kafka.Config{Brokers: []string{broker.TLSAddr}, Security: unitA}
		if err := kafka.ReadTopicAs(ctx, cfg, events.UnitTopic(e.cfg.TopicPrefix, events.BroadcastUnit), true, false,
			func(kafka.Record) error { got++; return nil }); err != nil {
			t.Fatal(err)
		}
		if got != want || want == 0 {
			t.Fatalf("read %d broadcast events as unit %s, want %d", got, a, want)
		}
	})
	t.Run("the unit reads the public keys and every event on its topic verifies", func(t *testing.T) {
		cfg := kafka.Config{Brokers: []string{broker.TLSAddr}, Security: unitA}
		keys, err := kafka.ReadKeys(ctx, cfg, events.KeysTopic(e.cfg.TopicPrefix))
		if err != nil {
			t.Fatal(err)
		}
		var records []kafka.Record
		if err := kafka.ReadTopicAs(ctx, cfg, events.UnitTopic(e.cfg.TopicPrefix, a), true, false,
			func(r kafka.Record) error { records = append(records, r); return nil }); err != nil {
			t.Fatal(err)
		}
		assertAllVerify(t, keys, records)
	})
	client := unitClient(t, broker.TLSAddr, unitA)
	t.Run("refused", func(t *testing.T) {
		for _, topic := range []string{events.UnitTopic(e.cfg.TopicPrefix, b), events.CaptureTopic(e.cfg.TopicPrefix, events.InfoProvider)} {
			if n, err := tryConsume(t, broker.TLSAddr, unitA, topic); n != 0 || !errors.Is(err, kerr.TopicAuthorizationFailed) {
				t.Errorf("unit %s reading %s: %d records, %v; want none, refused", a, topic, n, err)
			}
		}
		for _, unit := range []string{a, b, events.BroadcastUnit} {
			topic := events.UnitTopic(e.cfg.TopicPrefix, unit)
			err := client.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(`{"forged":true}`)}).FirstErr()
			if !errors.Is(err, kerr.TopicAuthorizationFailed) {
				t.Errorf("unit %s producing to %s: %v; want refused", a, topic, err)
			}
		}
		if code := joinGroup(t, client, access.GroupPrefix(e.cfg.TopicPrefix, b)+"sync"); code != kerr.GroupAuthorizationFailed.Code {
			t.Errorf("unit %s joining unit %s's group: error code %d, want GROUP_AUTHORIZATION_FAILED", a, b, code)
		}
		if code := joinGroup(t, client, access.GroupPrefix(e.cfg.TopicPrefix, a)+"sync"); code == kerr.GroupAuthorizationFailed.Code {
			t.Errorf("unit %s was refused its own group", a)
		}
	})
	t.Run("the bridge itself refused", func(t *testing.T) {
		// The bridge started with a unit's credentials: no ACL lets it write, so it reports that at once.
		wrong := e.cfg
		wrong.SASLUsername = access.User(a)
		wrong.SASLPasswordFile = writeFile(t, "unit.password", librdkafkaValue(t, filepath.Join(dir, a+".librdkafka.conf"), "sasl.password"))
		assertReportedAtOnce(t, wrong, outputs, "kafka's ACLs refuse the bridge's principal User:unit-"+a)
	})

	dropped := unitsWithout(t, b)
	e.cfg.Units = dropped
	after := applyACLs(t, e, pipeline.ACLOptions{CredentialsDir: dir})
	outputs.WriteString(after)
	if !strings.Contains(after, "delete  Allow User:unit-"+b+" Read Topic:Literal "+events.UnitTopic(e.cfg.TopicPrefix, b)) ||
		!strings.Contains(after, "user    unit-"+b+"  remove") || !strings.Contains(after, "8 to delete") {
		t.Fatalf("removing unit %s from the catalogue:\n%s", b, after)
	}
	listed := listACLs(t, e)
	outputs.WriteString(listed)
	if strings.Contains(listed, "unit-"+b) || !strings.Contains(listed, "User:unit-"+a+" Read Topic:Literal "+events.UnitTopic(e.cfg.TopicPrefix, a)) {
		t.Fatalf("acl list after unit %s left:\n%s", b, listed)
	}

	personal := personalValues(t, e)
	assertNoneOf(t, "the secured run's logs", strings.Split(logs.String(), "\n"), personal)
	assertNoneOf(t, "the acl commands' output and the error texts", strings.Split(outputs.String(), "\n"), personal)
	for _, secret := range []string{librdkafkaValue(t, filepath.Join(dir, a+".librdkafka.conf"), "sasl.password"), readTrimmed(t, broker.PasswordFile)} {
		if strings.Contains(logs.String()+outputs.String(), secret) {
			t.Fatal("a password appears in the logs or the command output")
		}
	}
}

// Wrong credentials, an untrusted or expired certificate and a mechanism the broker does not offer are each
// reported at once, naming what to fix, and never retried as an outage.
func TestKafkaSecurityProblemsAreReportedAtOnce(t *testing.T) {
	t.Parallel()
	e, broker := securedEnv(t)
	outputs := &bytes.Buffer{}
	cases := map[string]struct {
		change func(*pipeline.Config)
		want   string
	}{
		"wrong password": {func(c *pipeline.Config) { c.SASLPasswordFile = writeFile(t, "wrong", "not-the-password\n") },
			`kafka refused the credentials of user "bridge" (SCRAM-SHA-512): check kafka_sasl_username, kafka_sasl_password_file`},
		"untrusted certificate": {func(c *pipeline.Config) { c.TLSCAFile = broker.Certs.OtherCA },
			"the broker's certificate is not signed by a CA the bridge trusts: put the broker's CA in kafka_tls_ca_file"},
		"expired certificate": {func(c *pipeline.Config) { c.TLSCAFile = broker.Certs.ExpiredCA },
			"the broker's certificate or its CA has expired"},
		"unsupported mechanism": {func(c *pipeline.Config) {
			c.KafkaBrokers, c.SecurityProtocol, c.TLSCAFile = []string{broker.Addr}, kafka.SASLPlaintext, ""
			c.SASLMechanism = kafka.SCRAMSHA256
		}, "the broker does not offer SASL mechanism SCRAM-SHA-256: set kafka_sasl_mechanism"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := e.cfg
			c.change(&cfg)
			assertReportedAtOnce(t, cfg, outputs, c.want)
		})
	}
	t.Run("SCRAM-SHA-256 where the broker offers it", func(t *testing.T) {
		cfg := e.cfg
		cfg.SASLMechanism = kafka.SCRAMSHA256
		var topics int
		err := kafka.ReadTopicAs(context.Background(), kafkaConfigOf(cfg), "no-such-topic-read-nothing", true, false,
			func(kafka.Record) error { topics++; return nil })
		if err != nil && kafka.IsPermanent(err) {
			t.Fatalf("SCRAM-SHA-256 over SASL_SSL: %v", err)
		}
	})
}

// assertReportedAtOnce runs the bridge with cfg and wants it to end by itself with want in its error, without a
// single "retrying" report: a failure that cannot mend is not an outage.
func assertReportedAtOnce(t *testing.T, cfg pipeline.Config, outputs *bytes.Buffer, want string) {
	t.Helper()
	logs := &testenv.SyncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := pipeline.Run(ctx, cfg, pipeline.NewLoggerAs(logs, "debug", "json", false), true)
	outputs.WriteString(logs.String())
	if err != nil {
		outputs.WriteString(err.Error() + "\n")
	}
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), want) || !kafka.IsPermanent(err) {
		t.Fatalf("bridge run ended with %v (context: %v); want at once a permanent error saying %q", err, ctx.Err(), want)
	}
	if strings.Contains(logs.String(), "retrying") {
		t.Fatalf("a permanent failure was retried as an outage:\n%s", lastLines(logs.String(), 5))
	}
}

func applyACLs(t *testing.T, e *bridgeEnv, opts pipeline.ACLOptions) string {
	t.Helper()
	var out bytes.Buffer
	if err := pipeline.ApplyACLs(context.Background(), e.cfg, quietLogger(), &out, opts); err != nil {
		t.Fatalf("acl apply: %v\n%s", err, out.String())
	}
	return out.String()
}

func listACLs(t *testing.T, e *bridgeEnv) string {
	t.Helper()
	var out bytes.Buffer
	if err := pipeline.ListACLs(context.Background(), e.cfg, &out); err != nil {
		t.Fatalf("acl list: %v", err)
	}
	return out.String()
}

func unitCodes(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../schemas/units.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, line := range strings.Split(string(data), "\n") {
		if code, ok := strings.CutPrefix(strings.TrimSpace(line), "- code: "); ok {
			codes = append(codes, strings.Trim(code, `"`))
		}
	}
	return codes
}

// unitsWithout writes the default catalogue without one unit.
func unitsWithout(t *testing.T, unit string) string {
	t.Helper()
	data, err := os.ReadFile("../schemas/units.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	skipping := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "  - code: ") {
			skipping = strings.Contains(line, `"`+unit+`"`)
		}
		if !skipping {
			kept = append(kept, line)
		}
	}
	return writeFile(t, "units.yaml", strings.Join(kept, "\n"))
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// librdkafkaValue reads one key of a librdkafka configuration file.
func librdkafkaValue(t *testing.T, path, key string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && k == key {
			return v
		}
	}
	t.Fatalf("%s has no %s", path, key)
	return ""
}

// librdkafkaSecurity turns a unit's librdkafka file into the Go client's settings, as a district would.
func librdkafkaSecurity(t *testing.T, path string) kafka.Security {
	t.Helper()
	ca := librdkafkaValue(t, path, "ssl.ca.location")
	return kafka.Security{
		Protocol: strings.ToUpper(librdkafkaValue(t, path, "security.protocol")), Mechanism: librdkafkaValue(t, path, "sasl.mechanisms"),
		Username: librdkafkaValue(t, path, "sasl.username"), PasswordFile: writeFile(t, "password", librdkafkaValue(t, path, "sasl.password")),
		CAFile: filepath.Join(filepath.Dir(path), ca),
	}
}

func kafkaConfigOf(cfg pipeline.Config) kafka.Config {
	s := cfg.KafkaSecurity
	return kafka.Config{Brokers: cfg.KafkaBrokers, Version: cfg.KafkaVersion, Security: kafka.Security{
		Protocol: s.SecurityProtocol, Mechanism: s.SASLMechanism, Username: s.SASLUsername,
		PasswordFile: s.SASLPasswordFile, CAFile: s.TLSCAFile, CertFile: s.TLSCertFile, KeyFile: s.TLSKeyFile,
	}}
}

func unitClient(t *testing.T, addr string, sec kafka.Security, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	secOpts, err := sec.KgoOptions()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(append(secOpts, kgo.SeedBrokers(addr), kgo.DisableIdempotentWrite(),
		kgo.RecordDeliveryTimeout(20*time.Second)), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// tryConsume reads topic from the start until a record or an error arrives.
func tryConsume(t *testing.T, addr string, sec kafka.Security, topic string) (int, error) {
	t.Helper()
	cl := unitClient(t, addr, sec, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		if n := len(fetches.Records()); n > 0 {
			return n, nil
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return 0, fe.Err
			}
		}
	}
	return 0, ctx.Err()
}

// joinGroup sends a JoinGroup for group and returns its error code (the coordinator lookup's, if that failed).
func joinGroup(t *testing.T, cl *kgo.Client, group string) int16 {
	t.Helper()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.ProtocolType, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = group, "consumer", 10000, 10000
	proto := kmsg.NewJoinGroupRequestProtocol()
	proto.Name = "range"
	req.Protocols = append(req.Protocols, proto)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	var ke *kerr.Error
	switch {
	case errors.As(err, &ke):
		return ke.Code
	case err != nil:
		t.Fatalf("join group %s: %v", group, err)
	}
	return resp.ErrorCode
}

// consoleConsume reads n records of topic with Kafka's own console consumer and the unit's properties file,
// printing each record's key.
func consoleConsume(t *testing.T, addr, topic string, n int, properties, group string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd, err := localkafka.ToolCommand(ctx, localkafka.Options{}, "org.apache.kafka.tools.consumer.ConsoleConsumer",
		"--bootstrap-server", addr, "--topic", topic, "--from-beginning", "--max-messages", itoa(n),
		"--timeout-ms", "60000", "--consumer.config", properties, "--group", group,
		"--property", "print.key=true", "--property", "print.value=false")
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("console consumer: %v\n%s", err, lastLines(stderr.String(), 20))
	}
	return strings.Fields(string(out))
}
