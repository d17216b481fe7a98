package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	xdgscram "github.com/xdg-go/scram"
)

// Security protocols, as Kafka names them.
const (
	Plaintext     = "PLAINTEXT"
	SASLPlaintext = "SASL_PLAINTEXT"
	SASLSSL       = "SASL_SSL"
	SSL           = "SSL"
)

// SASL mechanisms the bridge speaks.
const (
	SCRAMSHA512 = "SCRAM-SHA-512"
	SCRAMSHA256 = "SCRAM-SHA-256"
)

// Security is how a client proves who it is and checks who the broker is. Secrets are named by file, never
// given inline: the files are read at each connect, so a rotated password or certificate is picked up by the
// next connection without a restart.
type Security struct {
	Protocol     string // PLAINTEXT (empty), SASL_PLAINTEXT, SASL_SSL or SSL
	Mechanism    string // SCRAM-SHA-512 (empty) or SCRAM-SHA-256
	Username     string
	PasswordFile string
	CAFile       string // PEM; empty trusts the system's roots
	CertFile     string // PEM client certificate, with KeyFile; optional
	KeyFile      string
}

// SASL says whether the protocol authenticates with SASL.
func (s Security) SASL() bool { return s.Protocol == SASLPlaintext || s.Protocol == SASLSSL }

// TLS says whether the protocol encrypts.
func (s Security) TLS() bool { return s.Protocol == SASLSSL || s.Protocol == SSL }

func (s Security) mechanism() string {
	if s.Mechanism == "" {
		return SCRAMSHA512
	}
	return s.Mechanism
}

// Password reads the password file; surrounding whitespace (a trailing newline) is not part of it.
func (s Security) Password() (string, error) {
	data, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		return "", permanent(fmt.Errorf("kafka_sasl_password_file: %w", err))
	}
	password := strings.TrimSpace(string(data))
	if password == "" {
		return "", permanent(fmt.Errorf("kafka_sasl_password_file %s is empty", s.PasswordFile))
	}
	return password, nil
}

// TLSConfig builds the client's TLS configuration: the CA file's certificates as the only roots when given, and
// the client certificate when given.
func (s Security) TLSConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, permanent(fmt.Errorf("kafka_tls_ca_file: %w", err))
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, permanent(fmt.Errorf("kafka_tls_ca_file %s holds no PEM certificate", s.CAFile))
		}
	}
	if s.CertFile != "" || s.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, permanent(fmt.Errorf("kafka_tls_cert_file/kafka_tls_key_file: %w", err))
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// applySarama configures sarama's network layer.
func (s Security) applySarama(sc *sarama.Config) error {
	if s.TLS() {
		tc, err := s.TLSConfig()
		if err != nil {
			return err
		}
		sc.Net.TLS.Enable, sc.Net.TLS.Config = true, tc
	}
	if !s.SASL() {
		return nil
	}
	password, err := s.Password()
	if err != nil {
		return err
	}
	sc.Net.SASL.Enable = true
	sc.Net.SASL.Handshake = true
	sc.Net.SASL.User, sc.Net.SASL.Password = s.Username, password
	hash := xdgscram.SHA512
	sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
	if s.mechanism() == SCRAMSHA256 {
		hash, sc.Net.SASL.Mechanism = xdgscram.SHA256, sarama.SASLTypeSCRAMSHA256
	}
	sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: hash} }
	return nil
}

// KgoOptions are the franz-go options for the same security, for the readers built on franz-go.
func (s Security) KgoOptions() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if s.TLS() {
		tc, err := s.TLSConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if s.SASL() {
		password, err := s.Password()
		if err != nil {
			return nil, err
		}
		auth := scram.Auth{User: s.Username, Pass: password}
		if s.mechanism() == SCRAMSHA256 {
			opts = append(opts, kgo.SASL(auth.AsSha256Mechanism()))
		} else {
			opts = append(opts, kgo.SASL(auth.AsSha512Mechanism()))
		}
	}
	return opts, nil
}

// scramClient adapts xdg-go/scram to sarama's SCRAMClient.
type scramClient struct {
	hash xdgscram.HashGeneratorFcn
	conv *xdgscram.ClientConversation
}

func (c *scramClient) Begin(user, password, authzID string) error {
	client, err := c.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	c.conv = client.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }

func (c *scramClient) Done() bool { return c.conv.Done() }
