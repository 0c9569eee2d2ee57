package dane

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// certFor issues a certificate for names with key, signed by parent (self-signed when nil).
func certFor(t *testing.T, key crypto.Signer, names []string, isCA bool, parent *x509.Certificate, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(90 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rsaKey(t *testing.T) crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(t *testing.T) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// opensslDigest runs the pipeline the README and mailcow's DNS page use.
func opensslDigest(t *testing.T, certFile string) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl not found and CI=true: install openssl (Debian: apt-get install openssl)")
		}
		t.Skip("openssl not installed: cannot compare with its digest")
	}
	pub, err := exec.Command("openssl", "x509", "-in", certFile, "-pubkey", "-noout").Output()
	if err != nil {
		t.Fatalf("openssl x509: %v", err)
	}
	cmd := exec.Command("openssl", "pkey", "-pubin", "-outform", "der")
	cmd.Stdin = strings.NewReader(string(pub))
	der, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl pkey: %v", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func TestDigestMatchesOpenSSL(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  func(*testing.T) crypto.Signer
	}{
		{"RSA-2048", rsaKey},
		{"ECDSA-P256", ecKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			key := tc.key(t)
			cert := certFor(t, key, []string{"mail.example.com"}, false, nil, nil)
			certFile := writePEM(t, dir, "cert.pem", "CERTIFICATE", cert.Raw)
			want := opensslDigest(t, certFile)

			fromCert, err := ReadFile(certFile)
			if err != nil {
				t.Fatal(err)
			}
			if got := fromCert.Digest(); got != want {
				t.Errorf("certificate digest %s, openssl %s", got, want)
			}
			if got := fromCert.Record().String(); got != "3 1 1 "+want {
				t.Errorf("record %q, want %q", got, "3 1 1 "+want)
			}

			// The same key as a bare public key and as mailcow's key.pem.
			spki, _ := x509.MarshalPKIXPublicKey(key.Public())
			pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
			files := map[string]string{
				"public key":        writePEM(t, dir, "pub.pem", "PUBLIC KEY", spki),
				"PKCS #8 key":       writePEM(t, dir, "key8.pem", "PRIVATE KEY", pkcs8),
				"leaf before chain": writePEM(t, dir, "chain.pem", "CERTIFICATE", cert.Raw),
			}
			switch k := key.(type) {
			case *rsa.PrivateKey:
				files["PKCS #1 key"] = writePEM(t, dir, "key1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))
			case *ecdsa.PrivateKey:
				sec1, _ := x509.MarshalECPrivateKey(k)
				files["SEC 1 key"] = writePEM(t, dir, "keyec.pem", "EC PRIVATE KEY", sec1)
			}
			// A chain file: the leaf comes first, the issuer after it.
			other := certFor(t, ecKey(t), []string{"issuer.example"}, true, nil, nil)
			f, _ := os.OpenFile(files["leaf before chain"], os.O_APPEND|os.O_WRONLY, 0)
			_ = pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: other.Raw})
			f.Close()
			for what, p := range files {
				k, err := ReadFile(p)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if k.Digest() != want {
					t.Errorf("%s: digest %s, want %s", what, k.Digest(), want)
				}
			}
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("SECRET-MATERIAL not pem"), 0o600)
	big := filepath.Join(dir, "big.pem")
	os.WriteFile(big, make([]byte, MaxFileBytes+1), 0o600)
	badKey := writePEM(t, dir, "bad.pem", "PRIVATE KEY", []byte("SECRET-MATERIAL"))
	for _, tc := range []struct {
		path, want string
	}{
		{junk, "no certificate, public key or private key"},
		{big, "larger than"},
		{dir, "not a regular file"},
		{filepath.Join(dir, "missing.pem"), "no such file"},
		{badKey, "not a key we can read"},
	} {
		_, err := ReadFile(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadFile(%s) = %v, want an error with %q", tc.path, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "SECRET-MATERIAL") {
			t.Errorf("ReadFile(%s) quotes the file: %v", tc.path, err)
		}
	}
}

func TestParseAndCanonical(t *testing.T) {
	h := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in, want, err string
	}{
		{"3 1 1 " + h, "3 1 1 " + h, ""},
		{"3 1 1 " + strings.ToUpper(h), "3 1 1 " + h, ""},
		{"3  1\t1 " + h[:20] + " " + h[20:], "3 1 1 " + h, ""},
		{"2 0 2 " + strings.Repeat("cd", 64), "2 0 2 " + strings.Repeat("cd", 64), ""},
		{"3 1 0 3059", "3 1 0 3059", ""},
		{"3 1 1 abcd", "", "needs 32 bytes"},
		{"3 1 1 xyz0", "", "not hex"},
		{"3 1 1", "", "want \"usage"},
		{"256 1 1 " + h, "", "usage \"256\""},
		{"3 -1 1 " + h, "", "selector"},
	} {
		r, err := Parse(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %v, want error with %q", tc.in, err, tc.err)
			}
			if c, ok := Canonical(tc.in); ok || c != tc.in {
				t.Errorf("Canonical(%q) = %q, %v; want it unchanged, false", tc.in, c, ok)
			}
		case err != nil:
			t.Errorf("Parse(%q): %v", tc.in, err)
		case r.String() != tc.want:
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, r.String(), tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	if got := Name("Mail.Example.COM.", 25); got != "_25._tcp.mail.example.com." {
		t.Errorf("Name = %q", got)
	}
	for _, tc := range []struct {
		name string
		host string
		port int
		ok   bool
	}{
		{"_25._tcp.mail.example.com.", "mail.example.com", 25, true},
		{"_465._TCP.Mail.example.com", "mail.example.com", 465, true},
		{"_025._tcp.mail.example.com", "", 0, false},
		{"_0._tcp.mail.example.com", "", 0, false},
		{"_25._udp.mail.example.com", "", 0, false},
		{"25._tcp.mail.example.com", "", 0, false},
		{"_mta-sts.example.com", "", 0, false},
	} {
		h, p, ok := ParseName(tc.name)
		if h != tc.host || p != tc.port || ok != tc.ok {
			t.Errorf("ParseName(%q) = %q, %d, %v; want %q, %d, %v", tc.name, h, p, ok, tc.host, tc.port, tc.ok)
		}
	}
}

func TestMatches(t *testing.T) {
	caKey := ecKey(t)
	ca := certFor(t, caKey, []string{"ca.example"}, true, nil, nil)
	leafKey := ecKey(t)
	leaf := certFor(t, leafKey, []string{"mail.example.com"}, false, ca, caKey)
	other := certFor(t, ecKey(t), []string{"mail.example.com"}, false, nil, nil)
	chain := []*x509.Certificate{leaf, ca}

	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	full512 := sha512.Sum512(leaf.Raw)
	caSPKI := sha256.Sum256(ca.RawSubjectPublicKeyInfo)
	rec := func(u, s, m uint8, d []byte) Record { return Record{Usage: u, Selector: s, MatchingType: m, Data: d} }
	for _, tc := range []struct {
		name  string
		r     Record
		chain []*x509.Certificate
		host  string
		want  bool
	}{
		{"3 1 1 leaf key", KeyOf(leaf).Record(), chain, "mail.example.com", true},
		{"3 1 1 ignores names", KeyOf(leaf).Record(), chain, "other.example", true},
		{"3 1 1 other key", KeyOf(other).Record(), chain, "mail.example.com", false},
		{"3 0 2 full leaf", rec(3, 0, 2, full512[:]), chain, "mail.example.com", true},
		{"3 1 0 raw SPKI", rec(3, 1, 0, leaf.RawSubjectPublicKeyInfo), chain, "mail.example.com", true},
		{"2 1 1 issuer key", rec(2, 1, 1, caSPKI[:]), chain, "mail.example.com", true},
		{"2 1 1 wrong name", rec(2, 1, 1, caSPKI[:]), chain, "other.example", false},
		{"2 1 1 issuer not presented", rec(2, 1, 1, caSPKI[:]), chain[:1], "mail.example.com", false},
		{"2 1 1 naming the leaf", rec(2, 1, 1, spki[:]), chain, "mail.example.com", false},
		{"1 1 1 unusable for SMTP", rec(1, 1, 1, spki[:]), chain, "mail.example.com", false},
		{"empty chain", KeyOf(leaf).Record(), nil, "mail.example.com", false},
	} {
		if got := tc.r.Matches(tc.chain, tc.host, now); got != tc.want {
			t.Errorf("%s: Matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestUnsupportedKeyType(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	k, err := ParsePEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatalf("an Ed25519 key has an SPKI too: %v", err)
	}
	if len(k.Digest()) != 64 {
		t.Errorf("digest %q", k.Digest())
	}
}

func FuzzParse(f *testing.F) {
	f.Add("3 1 1 " + strings.Repeat("ab", 32))
	f.Add("2 0 0 30 82")
	f.Add("3 1 1")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(r.String())
		if err != nil || !again.Equal(r) {
			t.Fatalf("Parse(%q) = %q does not round-trip: %v", s, r.String(), err)
		}
		if c, ok := Canonical(r.String()); !ok || c != r.String() {
			t.Fatalf("Canonical(%q) = %q, %v", r.String(), c, ok)
		}
	})
}
