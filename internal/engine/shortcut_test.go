package engine

import (
	"context"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/authdns"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/fakedns"
	"github.com/mtasts-sync/mtasts-sync/providers"
)

// TestDNSShortcut: a zone whose nameservers already answer with the
// desired records is planned with no API request; any doubt reads it
// through the API.
func TestDNSShortcut(t *testing.T) {
	const n = 3
	ctx := context.Background()
	fake := newFake(t, n, fakeapi.Options{})
	zones := map[string]fakeapi.Fake{}
	for i := range n {
		zones[zoneName(i)] = fake
	}
	dns, err := fakedns.Start(zones)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	cfg := testConfig(t, n, "")
	shortcut := func() *Engine {
		e, err := New(ctx, cfg, Options{
			Providers:   providers.Options{Transport: fake.Transport()},
			DNSShortcut: true,
			AuthDNS:     authdns.Options{Resolver: dns.Addr()},
		})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	// Nothing there yet: DNS shows changes to make, so every zone is read.
	run, err := shortcut().Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range run.Plan.Zones {
		if z.ConfirmedByDNS {
			t.Errorf("zone %s confirmed by DNS before anything was written", z.Zone)
		}
	}
	if rep := newEngine(t, cfg, fake.Transport()).Apply(ctx, run); rep.Err != nil {
		t.Fatal(rep.Err)
	}
	dns.Invalidate()

	// In sync: no API request at all.
	fake.Middleware().ResetCounts()
	run, err = shortcut().Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range run.Plan.Zones {
		if !z.ConfirmedByDNS || len(z.InSync) != 1 {
			t.Errorf("zone %s: confirmed %v, in sync %v", z.Zone, z.ConfirmedByDNS, z.InSync)
		}
	}
	if got := fake.Middleware().Total(); got != 0 {
		t.Errorf("%d API requests for a zone DNS confirmed: %s", got, fake.Middleware())
	}

	// A wildcard answers for every name, the probe name nobody creates
	// included (fakedns does not expand wildcards, so the probe's answer is
	// seeded as the wildcard would give it): doubt, so that zone is read.
	if err := fake.Seed(zoneName(1), wildcardProbe+zoneName(1)+". 300 IN TXT \"v=STSv1; id=anything\""); err != nil {
		t.Fatal(err)
	}
	dns.Invalidate()
	fake.Middleware().ResetCounts()
	run, err = shortcut().Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range run.Plan.Zones {
		if want := z.Zone != zoneName(1); z.ConfirmedByDNS != want {
			t.Errorf("zone %s: confirmed by DNS = %v, want %v", z.Zone, z.ConfirmedByDNS, want)
		}
	}
	if fake.Middleware().Total() == 0 {
		t.Error("the zone with a wildcard was not read through the API")
	}

	// A server that does not answer: every zone falls back to the API.
	silent, err := New(ctx, cfg, Options{
		Providers:   providers.Options{Transport: fake.Transport()},
		DNSShortcut: true,
		AuthDNS:     authdns.Options{Resolver: "127.0.0.1:1", Timeout: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err = silent.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range run.Plan.Zones {
		if z.ConfirmedByDNS || z.Err != nil {
			t.Errorf("zone %s with no DNS answer: confirmed %v, error %v", z.Zone, z.ConfirmedByDNS, z.Err)
		}
	}
}
