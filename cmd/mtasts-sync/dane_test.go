package main

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

	"github.com/mtasts-sync/mtasts-sync/internal/dane"
)

// TestDANEThroughTheCLI: with dane: in the quickstart config, plan shows
// the TLSA record and its marker at the policy host, apply writes them
// beside the zone's other records, and a rerun has nothing to do; a
// cert_file that cannot be read fails before anything is asked.
func TestDANEThroughTheCLI(t *testing.T) {
	cfg := quickstart(t)
	dir := filepath.Dir(cfg)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	keyFile := filepath.Join(dir, "key.pem") // mailcow's key.pem works as well as its cert.pem
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := dane.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(text, []byte("dane:\n  cert_file: key.pem\n")...), 0o644); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, nil, "plan", "--config", cfg)
	for _, want := range []string{
		"+ _25._tcp.mail.example.com. TLSA 3 1 1 " + key.Digest(),
		`+ _25._tcp.mail.example.com. TXT "v=mtasts-sync1; tlsa=` + key.Digest() + `"`,
	} {
		if !strings.Contains(squash(r.stdout), want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	zone := filepath.Join(dir, "zones", "example.com.zone")
	before := zoneLines(t, zone)
	runCLI(t, nil, "apply", "--config", cfg)
	after := zoneLines(t, zone)
	if !containsLine(after, "_25._tcp.mail.example.com.\t3600\tIN\tTLSA\t3 1 1 "+key.Digest()) {
		t.Errorf("zone after apply lacks the TLSA record:\n%s", strings.Join(after, "\n"))
	}
	for _, l := range before {
		if !ours(l) && !containsLine(after, l) {
			t.Errorf("apply lost %q", l)
		}
	}
	r = runCLI(t, nil, "plan", "--config", cfg, "--output", "json")
	if strings.Contains(r.stdout, "_25._tcp") {
		t.Errorf("rerun still plans TLSA changes:\n%s", r.stdout)
	}

	if err := os.WriteFile(cfg, append(text, []byte("dane:\n  cert_file: missing.pem\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, "plan", "--config", cfg)
	if r.code != exitError || !strings.Contains(r.stderr, "dane.cert_file") || !strings.Contains(r.stderr, "missing.pem") {
		t.Errorf("missing cert_file: exit %d, stderr %q", r.code, r.stderr)
	}
}
