// Package devcert makes throwaway TLS certificates for the tests and the secured broker: a CA, a server
// certificate for the loopback addresses signed by it, and the bad cases a client must refuse (a CA nobody
// asked it to trust, the same CA expired). Nothing it makes is ever committed: each run makes its own.
package devcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files are the PEM files of one CA and the server certificate it signed.
type Files struct {
	CA         string // the CA certificate
	ServerCert string // the server's certificate
	ServerKey  string // its private key, PKCS #8
	// ExpiredCA is the same CA (same key and name) with a validity that ended yesterday: a client trusting only
	// it finds the broker's chain expired.
	ExpiredCA string
	// OtherCA is an unrelated CA: a client trusting only it does not trust the broker.
	OtherCA string
}

// Make writes a CA, a server certificate for 127.0.0.1, ::1 and localhost, and the bad cases into dir.
func Make(dir string) (Files, error) {
	f := Files{
		CA: filepath.Join(dir, "ca.pem"), ServerCert: filepath.Join(dir, "server.pem"),
		ServerKey: filepath.Join(dir, "server-key.pem"), ExpiredCA: filepath.Join(dir, "expired-ca.pem"),
		OtherCA: filepath.Join(dir, "other-ca.pem"),
	}
	now := time.Now()
	caKey, err := newKey()
	if err != nil {
		return f, err
	}
	caTemplate := authority("hotline-bridge test CA", now.Add(-time.Hour), now.Add(24*time.Hour))
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return f, fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return f, err
	}
	expiredTemplate := authority("hotline-bridge test CA", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	expiredDER, err := x509.CreateCertificate(rand.Reader, expiredTemplate, expiredTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return f, fmt.Errorf("create expired CA certificate: %w", err)
	}
	otherKey, err := newKey()
	if err != nil {
		return f, err
	}
	otherTemplate := authority("someone else's CA", now.Add(-time.Hour), now.Add(24*time.Hour))
	otherDER, err := x509.CreateCertificate(rand.Reader, otherTemplate, otherTemplate, &otherKey.PublicKey, otherKey)
	if err != nil {
		return f, fmt.Errorf("create other CA certificate: %w", err)
	}
	serverKey, err := newKey()
	if err != nil {
		return f, err
	}
	serverDER, err := x509.CreateCertificate(rand.Reader, server(now), ca, &serverKey.PublicKey, caKey)
	if err != nil {
		return f, fmt.Errorf("create server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		return f, err
	}
	for path, block := range map[string]*pem.Block{
		f.CA: {Type: "CERTIFICATE", Bytes: caDER}, f.ExpiredCA: {Type: "CERTIFICATE", Bytes: expiredDER},
		f.OtherCA: {Type: "CERTIFICATE", Bytes: otherDER}, f.ServerCert: {Type: "CERTIFICATE", Bytes: serverDER},
		f.ServerKey: {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			return f, fmt.Errorf("write %s: %w", path, err)
		}
	}
	return f, nil
}

func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return key, nil
}

func authority(name string, from, until time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: name}, NotBefore: from, NotAfter: until,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
}

func server(now time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

var serialCounter int64

func serial() *big.Int {
	serialCounter++
	return big.NewInt(time.Now().UnixNano() + serialCounter)
}
