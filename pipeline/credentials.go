package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"hotline-bridge/handlers/access"
	"hotline-bridge/infra/kafka"
)

// credentials are one unit's, as its district's consumer needs them.
type credentials struct {
	unit, user, password string
	cfg                  Config
}

// protocol is what the district connects with: SASL, with TLS when the bridge's own connection has it.
func (c credentials) protocol() string {
	if c.cfg.KafkaSecurity.kafka().TLS() {
		return kafka.SASLSSL
	}
	return kafka.SASLPlaintext
}

// write puts the Java client form and the librdkafka form in dir, each readable by its owner only, and the CA
// (public) beside them when TLS is on.
func (c credentials) write(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("credentials dir: %w", err)
	}
	java, err := c.javaProperties()
	if err != nil {
		return err
	}
	if err := writeSecret(filepath.Join(dir, c.unit+".properties"), java); err != nil {
		return err
	}
	if c.protocol() == kafka.SASLSSL && c.cfg.TLSCAFile != "" {
		ca, err := os.ReadFile(c.cfg.TLSCAFile)
		if err != nil {
			return fmt.Errorf("kafka_tls_ca_file: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o644); err != nil {
			return fmt.Errorf("write ca.pem: %w", err)
		}
	}
	return writeSecret(filepath.Join(dir, c.unit+".librdkafka.conf"), c.librdkafka())
}

func (c credentials) header(form string) string {
	return fmt.Sprintf("# Kafka %s settings of unit %s (principal User:%s), written by bridge acl apply.\n"+
		"# Secret: keep it readable by the consumer's account only. Read %s and %s;\n"+
		"# consumer group ids must start with %s\n",
		form, c.unit, c.user, c.topic(c.unit), c.topic("broadcast"), access.GroupPrefix(c.cfg.TopicPrefix, c.unit))
}

func (c credentials) topic(unit string) string { return c.cfg.TopicPrefix + "." + unit }

// javaProperties is the form Kafka's console tools read with --consumer.config, the CA inline as PEM.
func (c credentials) javaProperties() (string, error) {
	var b strings.Builder
	b.WriteString(c.header("Java client"))
	fmt.Fprintf(&b, "bootstrap.servers=%s\nsecurity.protocol=%s\nsasl.mechanism=%s\n",
		strings.Join(c.cfg.KafkaBrokers, ","), c.protocol(), c.cfg.SASLMechanism)
	fmt.Fprintf(&b, "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"%s\" password=\"%s\";\n",
		c.user, c.password)
	if c.protocol() == kafka.SASLSSL && c.cfg.TLSCAFile != "" {
		ca, err := os.ReadFile(c.cfg.TLSCAFile)
		if err != nil {
			return "", fmt.Errorf("kafka_tls_ca_file: %w", err)
		}
		// A properties value spans lines with a trailing backslash; \n keeps the PEM's line breaks.
		pem := strings.ReplaceAll(strings.TrimSpace(string(ca)), "\n", "\\n\\\n  ")
		fmt.Fprintf(&b, "ssl.truststore.type=PEM\nssl.truststore.certificates=%s\n", pem)
	}
	return b.String(), nil
}

// librdkafka is the form librdkafka clients read (kcat -F FILE, confluent-kafka): key=value lines. librdkafka
// before 2.6.1 cannot authenticate with SCRAM against Kafka 4 (see the README).
func (c credentials) librdkafka() string {
	var b strings.Builder
	b.WriteString(c.header("librdkafka (2.6.1 or later)"))
	fmt.Fprintf(&b, "bootstrap.servers=%s\nsecurity.protocol=%s\nsasl.mechanisms=%s\nsasl.username=%s\nsasl.password=%s\n",
		strings.Join(c.cfg.KafkaBrokers, ","), strings.ToLower(c.protocol()), c.cfg.SASLMechanism, c.user, c.password)
	if c.protocol() == kafka.SASLSSL && c.cfg.TLSCAFile != "" {
		b.WriteString("# ca.pem came with this file: give its full path when the client runs elsewhere\nssl.ca.location=ca.pem\n")
	}
	return b.String()
}

// writeSecret replaces path with content, mode 0600 from the start (a temporary file renamed over it).
func writeSecret(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
