package checktest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// CA is a certificate authority created for one test.
type CA struct {
	cert *x509.Certificate
	key  crypto.Signer
	// Pool trusts only this CA, for check.Options.RootCAs.
	Pool *x509.CertPool
}

// NewCA creates a CA valid from an hour ago for ten years.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key := newKey(t)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "checktest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("checktest: creating CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("checktest: parsing CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{cert: cert, key: key, Pool: pool}
}

// PEM is the CA certificate in PEM, for a --ca-file.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

// Certificate is the CA certificate, to present in a chain or pin in a TLSA record.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// Issue returns a leaf certificate for names (DNS SANs) valid from notBefore to notAfter.
func (ca *CA) Issue(t testing.TB, names []string, notBefore, notAfter time.Time) *tls.Certificate {
	t.Helper()
	return leaf(t, names, notBefore, notAfter, ca.cert, ca.key)
}

// SelfSigned returns a certificate for names signed by its own key, which no pool trusts.
func SelfSigned(t testing.TB, names []string, notBefore, notAfter time.Time) *tls.Certificate {
	t.Helper()
	return leaf(t, names, notBefore, notAfter, nil, nil)
}

func leaf(t testing.TB, names []string, notBefore, notAfter time.Time, parent *x509.Certificate, parentKey crypto.Signer) *tls.Certificate {
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatalf("checktest: creating certificate for %v: %v", names, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("checktest: parsing certificate for %v: %v", names, err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("checktest: generating key: %v", err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatalf("checktest: serial number: %v", err)
	}
	return n
}
