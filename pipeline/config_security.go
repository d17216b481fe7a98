package pipeline

import (
	"errors"
	"fmt"
	"os"

	"hotline-bridge/infra/kafka"
)

var (
	securityProtocols = []string{kafka.Plaintext, kafka.SASLPlaintext, kafka.SASLSSL, kafka.SSL}
	saslMechanisms    = []string{kafka.SCRAMSHA512, kafka.SCRAMSHA256}
)

// validate reports every problem of the security keys at once: an unknown protocol or mechanism, what the
// protocol needs and is missing, files that cannot be read, and settings the protocol would silently ignore.
func (s KafkaSecurity) validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	sec := s.kafka()
	check(!contains(securityProtocols, s.SecurityProtocol), "kafka_security_protocol must be PLAINTEXT, SASL_PLAINTEXT, SASL_SSL or SSL, got %q", s.SecurityProtocol)
	check(!contains(saslMechanisms, s.SASLMechanism), "kafka_sasl_mechanism must be SCRAM-SHA-512 or SCRAM-SHA-256, got %q", s.SASLMechanism)
	if sec.SASL() {
		check(s.SASLUsername == "", "kafka_sasl_username is required with kafka_security_protocol %s", s.SecurityProtocol)
		if s.SASLPasswordFile == "" {
			errs = append(errs, fmt.Errorf("kafka_sasl_password_file is required with kafka_security_protocol %s (a file holding the password: never on the command line)", s.SecurityProtocol))
		} else if _, err := sec.Password(); err != nil {
			errs = append(errs, err)
		}
	} else {
		check(s.SASLUsername != "" || s.SASLPasswordFile != "", "kafka_sasl_username and kafka_sasl_password_file need kafka_security_protocol SASL_PLAINTEXT or SASL_SSL, got %s", s.SecurityProtocol)
	}
	if sec.TLS() {
		check((s.TLSCertFile == "") != (s.TLSKeyFile == ""), "kafka_tls_cert_file and kafka_tls_key_file go together: set both for a client certificate, or neither")
		for key, path := range map[string]string{"kafka_tls_ca_file": s.TLSCAFile, "kafka_tls_cert_file": s.TLSCertFile, "kafka_tls_key_file": s.TLSKeyFile} {
			if _, err := os.Stat(path); path != "" && err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
			}
		}
		if len(errs) == 0 {
			_, err := sec.TLSConfig()
			errs = append(errs, err)
		}
	} else {
		check(s.TLSCAFile != "" || s.TLSCertFile != "" || s.TLSKeyFile != "", "kafka_tls_* files need kafka_security_protocol SASL_SSL or SSL, got %s", s.SecurityProtocol)
	}
	return errors.Join(errs...)
}

func (s KafkaSecurity) kafka() kafka.Security {
	return kafka.Security{
		Protocol: s.SecurityProtocol, Mechanism: s.SASLMechanism, Username: s.SASLUsername,
		PasswordFile: s.SASLPasswordFile, CAFile: s.TLSCAFile, CertFile: s.TLSCertFile, KeyFile: s.TLSKeyFile,
	}
}

func contains(set []string, v string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}
