package engine

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/authdns"
	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/fakedns"
	"github.com/mtasts-sync/mtasts-sync/providers"
)

// TestDNSShortcutCoversDANE: the DNS shortcut asks for the TLSA records
// and their marker too, confirms a host's zone in sync from DNS alone, and
// reads the zone through the API once a next key is to be published.
func TestDNSShortcutCoversDANE(t *testing.T) {
	ctx := context.Background()
	fake := newFake(t, 1, fakeapi.Options{})
	dns, err := fakedns.Start(map[string]fakeapi.Fake{zoneName(0): fake})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	dir := t.TempDir()
	keyFile := func(name string) string {
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
	cur, next := keyFile("cur.pem"), keyFile("next.pem")
	host := "mail." + zoneName(0)
	cfgFor := func(dane string) *config.Config {
		text := `policy:
  mode: testing
  max_age: 604800
  mx: [` + host + `]
policy_host: ` + host + `
ttl: 3600
publish_gate: false
providers:
  cf:
    type: cloudflare
    api_token: ` + testToken + `
domains: [` + zoneName(0) + `]
zones:
  ` + zoneName(0) + `: cf
dane:
` + dane
		cfg, err := config.Parse([]byte(text), filepath.Join(dir, "mtasts-sync.yaml"), ConfigOptions())
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	plan := func(cfg *config.Config) *Run {
		e, err := New(ctx, cfg, Options{Providers: providers.Options{Transport: fake.Transport()}, DNSShortcut: true, AuthDNS: authdns.Options{Resolver: dns.Addr()}})
		if err != nil {
			t.Fatal(err)
		}
		run, err := e.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	cfg := cfgFor("  cert_file: " + cur + "\n")
	run := plan(cfg)
	if rep := newEngine(t, cfg, fake.Transport()).Apply(ctx, run); rep.Err != nil {
		t.Fatal(rep.Err)
	}
	dns.Invalidate()

	fake.Middleware().ResetCounts()
	run = plan(cfg)
	if len(run.Plan.Zones) != 1 || !run.Plan.Zones[0].ConfirmedByDNS || strings.Join(run.Plan.Zones[0].InSync, ",") != host+","+zoneName(0) {
		t.Fatalf("zones %+v: want %s confirmed by DNS with the domain and the host in sync", run.Plan.Zones, zoneName(0))
	}
	if got := fake.Middleware().Total(); got != 0 {
		t.Errorf("%d API requests for a zone DNS confirmed: %s", got, fake.Middleware())
	}

	run = plan(cfgFor("  cert_file: " + cur + "\n  next_cert_file: " + next + "\n"))
	z := run.Plan.Zones[0]
	if z.ConfirmedByDNS || !z.Pending() {
		t.Errorf("with a next key: confirmed %v, pending %v; want the zone read and the next key planned", z.ConfirmedByDNS, z.Pending())
	}
}
