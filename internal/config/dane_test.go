package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// keyFile writes a fresh P-256 public key in PEM to dir/name.
func keyFile(t *testing.T, dir, name string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseDANE(t *testing.T) {
	dir := t.TempDir()
	cur := keyFile(t, dir, "cert.pem")
	next := keyFile(t, dir, "next.pem")
	cfgFile := filepath.Join(dir, "cfg.yaml")
	mailcowOnly := strings.Replace(base, "policy_host: mail.example.com\n", "mailcow:\n  url: https://mail.example.com\n  api_key: k\n", 1)
	for _, tc := range []struct {
		name string
		yaml string
		want *DANE
	}{
		{"absent", base, nil},
		{"defaults", base + "dane: {}\n", &DANE{Hosts: []string{"mail.example.com"}, Ports: []int{25}, Line: 11}},
		{"mailcow without policy_host: the host is found at run time", mailcowOnly + "dane: {}\n", &DANE{Ports: []int{25}, Line: 13}},
		{"everything", base + "dane:\n  hosts: [MX2.example.com., mx1.example.com]\n  cert_file: cert.pem\n  next_cert_file: " + next + "\n  ports: [587, 25, 25]\n",
			&DANE{Hosts: []string{"mx1.example.com", "mx2.example.com"}, Ports: []int{25, 587}, CertFile: cur, NextCertFile: next, Line: 11}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.yaml), cfgFile, opts(nil, nil))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, cfg.DANE); diff != "" {
				t.Errorf("DANE (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDANEErrors(t *testing.T) {
	dir := t.TempDir()
	cur := keyFile(t, dir, "cert.pem")
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a pem file"), 0o600)
	cfgFile := filepath.Join(dir, "cfg.yaml")
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", base + "dane:\n  cert: x\n", []string{`cfg.yaml:12: dane: unknown key "cert" (valid: hosts, cert_file, next_cert_file, ports)`}},
		{"not a mapping", base + "dane: [mail.example.com]\n", []string{"cfg.yaml:11: dane: must be a mapping"}},
		{"bad host", base + "dane:\n  hosts: [\"bad host\"]\n", []string{"cfg.yaml:12: dane.hosts[0]:"}},
		{"empty hosts", base + "dane:\n  hosts: []\n", []string{"cfg.yaml:12: dane.hosts: is empty"}},
		{"bad port", base + "dane:\n  ports: [25, 70000, smtp]\n", []string{
			`cfg.yaml:12: dane.ports[1]: 70000 is not a TCP port`, `cfg.yaml:12: dane.ports[2]: "smtp" is not a TCP port`}},
		{"missing cert", base + "dane:\n  cert_file: missing.pem\n", []string{"cfg.yaml:12: dane.cert_file: ", filepath.Join(dir, "missing.pem") + ": no such file"}},
		{"junk cert", base + "dane:\n  cert_file: " + junk + "\n", []string{"cfg.yaml:12: dane.cert_file: " + junk + ": no certificate, public key or private key"}},
		{"empty next", base + "dane:\n  cert_file: " + cur + "\n  next_cert_file: \"\"\n", []string{"cfg.yaml:13: dane.next_cert_file: is empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), cfgFile, opts(nil, nil))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestParseDANESameKeyWarns(t *testing.T) {
	dir := t.TempDir()
	cur := keyFile(t, dir, "cert.pem")
	cfg, err := Parse([]byte(base+"dane:\n  cert_file: "+cur+"\n  next_cert_file: "+cur+"\n"), filepath.Join(dir, "cfg.yaml"), opts(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "dane.next_cert_file: holds the same key as cert_file") {
		t.Errorf("warnings = %q", cfg.Warnings)
	}
}

func TestParseDANEHostNeedsAZone(t *testing.T) {
	dir := t.TempDir()
	noDefault := strings.Replace(base, "provider: cf\n", "zones:\n  example.com: cf\n", 1)
	_, err := Parse([]byte(noDefault+"dane:\n  hosts: [mail.example.com, mx.example.net]\n"), filepath.Join(dir, "cfg.yaml"), opts(nil, nil))
	if err == nil || !strings.Contains(err.Error(), "dane.hosts[1]: mx.example.net is in no configured zone") || strings.Contains(err.Error(), "hosts[0]") {
		t.Errorf("err = %v, want one for mx.example.net only", err)
	}
}

func TestParseDANEExpandedValuesNotShown(t *testing.T) {
	const secret = "s3cr3t V4LUE!"
	env := map[string]string{"X": secret}
	for _, y := range []string{
		"dane:\n  cert_file: ${X}\n",
		"dane:\n  ports: [\"${X}\"]\n",
		"dane:\n  hosts: [\"${X}\"]\n",
	} {
		_, err := Parse([]byte(base+y), filepath.Join(t.TempDir(), "cfg.yaml"), opts(env, nil))
		if err == nil {
			t.Errorf("%q: no error", y)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%q: error shows the variable's value: %v", y, err)
		}
	}
}
