package localkafka

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Secured turns a broker into a secured one: clients must authenticate with SASL/SCRAM, the
// StandardAuthorizer decides what each principal may do, and a principal no ACL names may do nothing
// (allow.everyone.if.no.acl.found=false).
//
// Listeners: SASL_PLAINTEXT on Addr (SCRAM-SHA-512 only, so a client asking for SCRAM-SHA-256 there meets a
// mechanism the broker does not offer), SASL_SSL on TLSAddr when a certificate is given (SCRAM-SHA-512 and
// SCRAM-SHA-256), and the controller on a loopback PLAINTEXT listener.
type Secured struct {
	// SuperUser is the principal (User:<name>) allowed everything: the bridge. It talks to itself as this user
	// on the inter-broker listener.
	SuperUser string
	// Users are SCRAM credentials (name → password) created when the storage is formatted, for both
	// mechanisms; SuperUser must be among them. More can be added at run time through the admin API.
	Users map[string]string
	// CertFile and KeyFile (PEM, the key unencrypted PKCS #8) enable the SASL_SSL listener.
	CertFile, KeyFile string
}

// controllerPrincipal is who broker-to-controller requests arrive as. The controller listens on a PLAINTEXT
// listener, where there is no authentication, so KRaft's broker registration and heartbeats come in as
// User:ANONYMOUS and need CLUSTER_ACTION on the cluster; the authorizer refuses them otherwise ("Principal =
// User:ANONYMOUS is Denied operation = CLUSTER_ACTION" in the broker log, and the broker never becomes ready).
// Only the controller's loopback listener is PLAINTEXT, so anonymous means a local process on that port.
const controllerPrincipal = "User:ANONYMOUS"

func (s *Secured) validate() error {
	var errs []error
	if s.SuperUser == "" || s.Users[s.SuperUser] == "" {
		errs = append(errs, errors.New("secured: the super user needs a password in Users"))
	}
	for name, password := range s.Users {
		if strings.ContainsAny(name+password, `,=[]"' `) {
			errs = append(errs, fmt.Errorf("secured: user %q or its password holds a character kafka-storage cannot take", name))
		}
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		errs = append(errs, errors.New("secured: CertFile and KeyFile go together"))
	}
	return errors.Join(errs...)
}

// properties are the server.properties entries of the secured mode.
func (s *Secured) properties(port, tlsPort, ctrlPort int, keystore string) map[string]string {
	jaas := fmt.Sprintf(`org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";`,
		s.SuperUser, s.Users[s.SuperUser])
	listeners := []string{fmt.Sprintf("SASL_PLAINTEXT://127.0.0.1:%d", port)}
	advertised := slices.Clone(listeners)
	p := map[string]string{
		"listener.security.protocol.map":                              "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name":                                  "SASL_PLAINTEXT",
		"sasl.mechanism.inter.broker.protocol":                        "SCRAM-SHA-512",
		"sasl.enabled.mechanisms":                                     "SCRAM-SHA-512",
		"listener.name.sasl_plaintext.sasl.enabled.mechanisms":        "SCRAM-SHA-512",
		"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": jaas,
		"authorizer.class.name":                                       "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"allow.everyone.if.no.acl.found":                              "false",
		"super.users":                                                 "User:" + s.SuperUser + ";" + controllerPrincipal,
	}
	if keystore != "" {
		listeners = append(listeners, fmt.Sprintf("SASL_SSL://127.0.0.1:%d", tlsPort))
		advertised = append(advertised, fmt.Sprintf("SASL_SSL://127.0.0.1:%d", tlsPort))
		p["listener.name.sasl_ssl.sasl.enabled.mechanisms"] = "SCRAM-SHA-512,SCRAM-SHA-256"
		p["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"] = jaas
		p["listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config"] = jaas
		p["listener.name.sasl_ssl.ssl.keystore.type"] = "PEM"
		p["listener.name.sasl_ssl.ssl.keystore.location"] = keystore
	}
	p["listeners"] = strings.Join(append(listeners, fmt.Sprintf("CONTROLLER://127.0.0.1:%d", ctrlPort)), ",")
	p["advertised.listeners"] = strings.Join(advertised, ",")
	return p
}

// formatArgs add every user's credentials, for both mechanisms, to the formatted storage.
func (s *Secured) formatArgs() []string {
	var args []string
	for _, name := range sortedKeys(s.Users) {
		for _, mechanism := range []string{"SCRAM-SHA-512", "SCRAM-SHA-256"} {
			args = append(args, "--add-scram", fmt.Sprintf("%s=[name=%s,password=%s]", mechanism, name, s.Users[name]))
		}
	}
	return args
}

// writeKeystore puts the key and the certificate in one PEM file, the form Kafka's PEM keystore reads.
func (s *Secured) writeKeystore(path string) error {
	key, err := os.ReadFile(s.KeyFile)
	if err != nil {
		return fmt.Errorf("secured: read key: %w", err)
	}
	cert, err := os.ReadFile(s.CertFile)
	if err != nil {
		return fmt.Errorf("secured: read certificate: %w", err)
	}
	if err := os.WriteFile(path, append(key, cert...), 0o600); err != nil {
		return fmt.Errorf("secured: write keystore: %w", err)
	}
	return nil
}

// clientOpts let the readiness probe in as the super user.
func (s *Secured) clientOpts() []kgo.Opt {
	if s == nil {
		return nil
	}
	auth := scram.Auth{User: s.SuperUser, Pass: s.Users[s.SuperUser]}
	return []kgo.Opt{kgo.SASL(auth.AsSha512Mechanism())}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TLSAddr is the SASL_SSL listener's address, empty unless the secured broker has a certificate.
func (b *Broker) TLSAddr() string {
	if b.tlsPort == 0 {
		return ""
	}
	return addr(b.tlsPort)
}

// ToolCommand is a command running one of Kafka's own command-line tools (mainClass, e.g.
// org.apache.kafka.tools.consumer.ConsoleConsumer) of opts.Version, its jars resolved into the cache on first use.
func ToolCommand(ctx context.Context, opts Options, mainClass string, args ...string) (*exec.Cmd, error) {
	tools, err := ResolveTools(ctx, opts)
	if err != nil {
		return nil, err
	}
	java, err := findJava()
	if err != nil {
		return nil, err
	}
	jvm := []string{"-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
		"-cp", filepath.Join(tools, "*"), mainClass}
	return exec.CommandContext(ctx, java, append(jvm, args...)...), nil
}
