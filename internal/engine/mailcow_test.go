package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/mailcow"
	"github.com/mtasts-sync/mtasts-sync/internal/mailcow/mailcowtest"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// TestMailcowPolicyFailureHoldsOnlyItsDomains: with manage_policy, a
// mailcow entry that cannot be written holds back that domain's id and its
// alias domain's; every other domain goes on.
func TestMailcowPolicyFailureHoldsOnlyItsDomains(t *testing.T) {
	const key = "engine-mc-key"
	mc := mailcowtest.New(key)
	t.Cleanup(mc.Close)
	mc.AddDomain(mailcowtest.Domain{Name: "example.com", Active: true})
	mc.AddDomain(mailcowtest.Domain{Name: "example.org", Active: true})
	mc.AddAliasDomain(mailcowtest.AliasDomain{Name: "example.net", Target: "example.com", Active: true})
	old := mailcow.STS{Mode: "testing", MX: []string{"mail.example.com"}, MaxAge: 604800, Active: true}
	for _, d := range []string{"example.com", "example.org"} {
		e := old
		e.Domain = d
		mc.SetSTS(e)
	}

	ctx := context.Background()
	e := mailcowEngine(t, mc, key, "example.com", "example.org", "example.net")
	run, err := e.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// An admin removes example.com's entry between plan and apply: the
	// planned edit finds nothing to edit.
	mc.RemoveSTS("example.com")
	rep := e.Apply(ctx, run)
	if rep.Err == nil || !strings.Contains(rep.Err.Error(), "mailcow policy of example.com") {
		t.Fatalf("apply error = %v, want one naming example.com's mailcow policy", rep.Err)
	}
	got := map[string]reconcile.Action{}
	for _, z := range run.Plan.Zones {
		for _, c := range z.Changes {
			if strings.HasPrefix(c.Name, "_mta-sts.") {
				got[c.Domain] = c.Action
			}
		}
	}
	want := map[string]reconcile.Action{"example.com": reconcile.Withheld, "example.net": reconcile.Withheld, "example.org": reconcile.Create}
	for d, a := range want {
		if got[d] != a {
			t.Errorf("_mta-sts of %s: %s, want %s", d, got[d], a)
		}
	}
	if mc.STS()["example.org"].Mode != "enforce" {
		t.Errorf("example.org's entry was not written: %+v", mc.STS()["example.org"])
	}
}

// TestMailcowInactiveEntryIsEdited: an inactive entry serves nothing, so
// the plan adds one; mailcow refuses a second entry, and the edit that
// follows makes the existing one active with the config's policy.
func TestMailcowInactiveEntryIsEdited(t *testing.T) {
	const key = "engine-mc-key"
	mc := mailcowtest.New(key)
	t.Cleanup(mc.Close)
	mc.AddDomain(mailcowtest.Domain{Name: "example.org", Active: true})
	mc.SetSTS(mailcow.STS{Domain: "example.org", Mode: "testing", MX: []string{"mail.example.com"}, MaxAge: 86400, Active: false})
	ctx := context.Background()
	e := mailcowEngine(t, mc, key, "example.org")
	run, err := e.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep := e.Apply(ctx, run); rep.Err != nil {
		t.Fatal(rep.Err)
	}
	if got := mc.STS()["example.org"]; got.Mode != "enforce" || !got.Active || got.MaxAge != 604800 {
		t.Errorf("entry after apply: %+v", got)
	}
}

// mailcowEngine writes a manage_policy config for mc, with zone files for
// zones, and builds an engine on it.
func mailcowEngine(t *testing.T, mc *mailcowtest.Server, key string, zones ...string) *Engine {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), mc.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "zones"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, z := range zones {
		soa := fmt.Sprintf("$ORIGIN %s.\n@ 3600 IN SOA ns1.example.com. h.example.com. 1 7200 3600 1209600 3600\n@ 3600 IN NS ns1.example.com.\n", z)
		if err := os.WriteFile(filepath.Join(dir, "zones", z+".zone"), []byte(soa), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	yaml := fmt.Sprintf(`policy:
  mode: enforce
  max_age: 604800
policy_host: mail.example.com
publish_gate: false
provider: files
providers:
  files:
    type: zonefile
    directory: ./zones
mailcow:
  url: %s
  api_key: %s
  ca_file: ./ca.pem
  manage_policy: true
`, mc.URL(), key)
	path := filepath.Join(dir, "mtasts-sync.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, ConfigOptions())
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
