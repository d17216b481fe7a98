package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"hotline-bridge/infra/dev/devcert"
	"hotline-bridge/infra/dev/localkafka"
)

// SecuredBroker is the shared secured Kafka: SASL/SCRAM on every client listener, the StandardAuthorizer with
// allow.everyone.if.no.acl.found=false, and the bridge's own principal a super user. Its certificates and
// passwords are made by this run, in a temporary directory removed at exit.
type SecuredBroker struct {
	Addr    string // SASL_PLAINTEXT, SCRAM-SHA-512 only
	TLSAddr string // SASL_SSL, SCRAM-SHA-512 and SCRAM-SHA-256
	// Username and PasswordFile are the bridge's super user's credentials.
	Username, PasswordFile string
	Certs                  devcert.Files // Certs.CA signed the broker's certificate
	Dir                    string        // for the test's own files; removed at exit
}

// SecuredUser is the super user's name.
const SecuredUser = "bridge"

var sharedSecured shared[*securedRun]

type securedRun struct {
	broker *localkafka.Broker
	info   SecuredBroker
}

func (r *securedRun) stop() error {
	err := r.broker.Stop()
	_ = os.RemoveAll(r.info.Dir)
	return err
}

// SecuredKafka returns the secured broker this test binary shares, starting it on first use (one broker start
// costs about ten seconds of CPU, so the secured tests of a package share one).
func SecuredKafka(t testing.TB) SecuredBroker {
	t.Helper()
	needMain(t, "the secured broker")
	_, err := sharedSecured.get(func() (*securedRun, string, error) {
		run, err := startSecured()
		if err != nil {
			return nil, "", err
		}
		return run, run.info.Addr, nil
	})
	if err != nil {
		t.Fatalf("testenv: start secured kafka: %v", err)
	}
	return sharedSecured.val.info
}

func startSecured() (*securedRun, error) {
	dir, err := os.MkdirTemp("", "secured-kafka-")
	if err != nil {
		return nil, err
	}
	certs, err := devcert.Make(dir)
	if err != nil {
		return nil, err
	}
	var secret [24]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, err
	}
	password := hex.EncodeToString(secret[:])
	passwordFile := filepath.Join(dir, "bridge.password")
	if err := os.WriteFile(passwordFile, []byte(password+"\n"), 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), kafkaStartTimeout)
	defer cancel()
	b, err := localkafka.Start(ctx, localkafka.Options{Secured: &localkafka.Secured{
		SuperUser: SecuredUser, Users: map[string]string{SecuredUser: password},
		CertFile: certs.ServerCert, KeyFile: certs.ServerKey,
	}})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("secured broker: %w", err)
	}
	return &securedRun{broker: b, info: SecuredBroker{
		Addr: b.Addr(), TLSAddr: b.TLSAddr(), Username: SecuredUser, PasswordFile: passwordFile, Certs: certs, Dir: dir,
	}}, nil
}
