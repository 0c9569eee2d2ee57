package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
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
	key := writeKey(t, dir)
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

// TestDANEOrphanThroughTheCLI: once mail.example.com leaves dane.hosts
// (for another host, or with dane: gone), its TLSA record and marker are
// listed as orphaned in text and JSON, with what to do, and apply leaves
// them in the zone file.
func TestDANEOrphanThroughTheCLI(t *testing.T) {
	cfg := quickstart(t)
	dir := filepath.Dir(cfg)
	key := writeKey(t, dir)
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	configure := func(dane string) {
		t.Helper()
		if err := os.WriteFile(cfg, append(append([]byte{}, text...), dane...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	configure("dane:\n  cert_file: key.pem\n")
	runCLI(t, nil, "apply", "--config", cfg) // exit 1: example.net's conflict stays
	zone := filepath.Join(dir, "zones", "example.com.zone")
	tlsa := "_25._tcp.mail.example.com.\t3600\tIN\tTLSA\t3 1 1 " + key.Digest()
	if !containsLine(zoneLines(t, zone), tlsa) {
		t.Fatalf("apply wrote no TLSA record:\n%s", strings.Join(zoneLines(t, zone), "\n"))
	}
	if r := runCLI(t, nil, "plan", "--config", cfg); strings.Contains(r.stdout, "orphaned") {
		t.Errorf("mail.example.com is in dane.hosts but listed as orphaned:\n%s", r.stdout)
	}

	records := "_25._tcp.mail.example.com. TLSA 3 1 1 " + key.Digest() + `, _25._tcp.mail.example.com. TXT "v=mtasts-sync1; tlsa=` + key.Digest() + `"`
	for _, tc := range []struct {
		dane, why, back string
		orphans         int // the second also lists mx2.example.com, published by the first
	}{
		{"dane:\n  hosts: [mx2.example.com]\n  cert_file: key.pem\n", "dane.hosts does not list mail.example.com", "add it back to dane.hosts", 1},
		{"", "the config has no dane:", "add dane: back with hosts: [mail.example.com]", 2},
	} {
		configure(tc.dane)
		want := "orphaned mail.example.com (zone example.com, provider files): " + records +
			"; TLSA records mtasts-sync published (its v=mtasts-sync1 marker TXT lists them), but " + tc.why +
			", so they no longer follow the host's key: if it still takes mail, senders that validate DANE refuse it once the key changes; left alone: " +
			tc.back + ", or delete by hand the TLSA records listed and then the marker TXT at _25._tcp.mail.example.com."
		r := runCLI(t, nil, "plan", "--config", cfg)
		if !strings.Contains(r.stdout, want) {
			t.Errorf("%q: plan lacks %q:\n%s", tc.why, want, r.stdout)
		}
		r = runCLI(t, nil, "plan", "--config", cfg, "--output", "json")
		var doc struct {
			Orphans []struct {
				Domain, Zone, Provider, Advice string
				Records                        []string
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("plan --output json: %v\n%s", err, r.stdout)
		}
		if len(doc.Orphans) != tc.orphans || doc.Orphans[0].Domain != "mail.example.com" || doc.Orphans[0].Zone != "example.com" ||
			strings.Join(doc.Orphans[0].Records, ", ") != records || !strings.Contains(doc.Orphans[0].Advice, tc.back) {
			t.Errorf("%q: JSON orphans = %+v", tc.why, doc.Orphans)
		}
		runCLI(t, nil, "apply", "--config", cfg)
		if after := zoneLines(t, zone); !containsLine(after, tlsa) || !containsLine(after, "_25._tcp.mail.example.com.\t3600\tIN\tTXT\t\"v=mtasts-sync1; tlsa="+key.Digest()+"\"") {
			t.Errorf("%q: apply removed the orphan's records:\n%s", tc.why, strings.Join(after, "\n"))
		}
	}
}

// writeKey writes a new ECDSA private key to dir/key.pem (mailcow's
// key.pem works as well as its cert.pem) and returns it as dane reads it.
func writeKey(t *testing.T, dir string) dane.Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := dane.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
