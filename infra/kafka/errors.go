package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
)

// PermanentError is a failure that trying again cannot mend: wrong credentials, a certificate the bridge does not
// trust, a mechanism the broker does not offer, an ACL refusing the bridge, a malformed setting. It says what to
// fix. Retry loops stop on it (anything with a Permanent method saying true), so it is reported at once instead
// of as an outage.
type PermanentError struct {
	Fix string // what to change, naming the config key
	Err error
}

func (e *PermanentError) Error() string { return e.Fix + ": " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks the error as one that retrying cannot mend.
func (e *PermanentError) Permanent() bool { return true }

// IsPermanent says whether err, or an error it wraps, declares itself permanent.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// permanent marks a configuration problem found on the bridge's side (an unreadable file, say), whose text
// already names the key.
func permanent(err error) error {
	return &PermanentError{Fix: "fix the kafka security settings", Err: err}
}

// explain turns a failure that can never succeed into a PermanentError saying what to fix; any other error (an
// outage, a timeout) is returned as it is, to be retried.
func (c Config) explain(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	if fix := c.fixFor(err); fix != "" {
		return &PermanentError{Fix: fix, Err: err}
	}
	if errors.Is(err, sarama.ErrOutOfBrokers) {
		return c.diagnose(err)
	}
	return err
}

// diagnose asks each broker once more on a connection of its own: sarama's client drops a broker that answers
// with some errors (an unsupported SASL mechanism among them) without keeping why, and reports only that it ran
// out of brokers, which would look like an outage.
func (c Config) diagnose(err error) error {
	sc, scErr := c.Sarama()
	if scErr != nil {
		return scErr
	}
	for _, addr := range c.Brokers {
		if cause := pingBroker(sc, addr); cause != nil {
			if fix := c.fixFor(cause); fix != "" {
				return &PermanentError{Fix: fix, Err: fmt.Errorf("broker %s: %w", addr, cause)}
			}
		}
	}
	return err
}

func (c Config) fixFor(err error) string {
	s := c.Security
	var (
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		notTLS    tls.RecordHeaderError
		configErr sarama.ConfigurationError
	)
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Sprintf("the broker's certificate is not signed by a CA the bridge trusts: put the broker's CA in kafka_tls_ca_file (now %q)", s.CAFile)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "the broker's certificate or its CA has expired or is not valid yet: renew it on the broker (or the CA in kafka_tls_ca_file)"
	case errors.As(err, &invalid):
		return "the broker's certificate is not valid for a TLS server: reissue it"
	case errors.As(err, &hostname):
		return "the broker's certificate does not name the address in kafka_brokers: use the name it was issued for, or reissue it"
	case errors.As(err, &notTLS):
		return "the broker does not speak TLS on that port: set kafka_security_protocol to the listener's (PLAINTEXT or SASL_PLAINTEXT), or use its TLS port"
	case errors.Is(err, sarama.ErrSASLAuthenticationFailed), errors.Is(err, kerr.SaslAuthenticationFailed):
		return fmt.Sprintf("kafka refused the credentials of user %q (%s): check kafka_sasl_username, kafka_sasl_password_file and kafka_sasl_mechanism", s.Username, s.mechanism())
	case errors.Is(err, sarama.ErrUnsupportedSASLMechanism), errors.Is(err, kerr.UnsupportedSaslMechanism):
		return fmt.Sprintf("the broker does not offer SASL mechanism %s: set kafka_sasl_mechanism to one its listener enables (sasl.enabled.mechanisms)", s.mechanism())
	case errors.Is(err, sarama.ErrIllegalSASLState), errors.Is(err, kerr.IllegalSaslState):
		return "the broker's listener does not expect SASL: set kafka_security_protocol to the listener's protocol"
	case isAuthorization(err):
		return fmt.Sprintf("kafka's ACLs refuse the bridge's principal User:%s: make it a super user of the broker (super.users) or grant it the ACLs the README lists", s.Username)
	case errors.As(err, &configErr):
		return "the kafka client configuration is invalid"
	}
	return ""
}

func isAuthorization(err error) bool {
	for _, refused := range []error{
		sarama.ErrTopicAuthorizationFailed, sarama.ErrGroupAuthorizationFailed, sarama.ErrClusterAuthorizationFailed,
		sarama.ErrTransactionalIDAuthorizationFailed, sarama.ErrDelegationTokenAuthorizationFailed,
		kerr.TopicAuthorizationFailed, kerr.GroupAuthorizationFailed, kerr.ClusterAuthorizationFailed,
		kerr.TransactionalIDAuthorizationFailed,
	} {
		if errors.Is(err, refused) {
			return true
		}
	}
	return false
}
