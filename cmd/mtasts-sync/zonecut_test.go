package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/cloudflarefake"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/fakedns"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// TestZoneCutThroughTheDNSShortcut: records an older run wrote below a
// delegation, exactly as desired, must not let the DNS shortcut call the
// domain in sync. The parent zone's servers answer there with a referral,
// so the zone is read through the API, and the delegation is an error for
// that domain alone, with nothing written.
func TestZoneCutThroughTheDNSShortcut(t *testing.T) {
	const token = "cf-zonecut-token"
	fake := cloudflarefake.New(token, fakeapi.Options{})
	t.Cleanup(fake.Close)
	fake.AddZone("example.com")
	id := policyID(mtasts.ModeEnforce, 86400)
	var seed []string
	for _, d := range []string{"example.com", "sub.example.com"} {
		seed = append(seed,
			fmt.Sprintf("mta-sts.%s. 3600 IN CNAME mail.example.com.", d),
			fmt.Sprintf(`_mta-sts.%s. 3600 IN TXT "v=STSv1; id=%s"`, d, id),
			fmt.Sprintf(`_smtp._tls.%s. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@example.com"`, d))
	}
	seed = append(seed, "sub.example.com. 3600 IN NS ns.elsewhere.test.")
	if err := fake.Seed("example.com", seed...); err != nil {
		t.Fatal(err)
	}
	ns, err := fakedns.Start(map[string]fakeapi.Fake{"example.com": fake})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	cfg := filepath.Join(t.TempDir(), "mtasts-sync.yaml")
	if err := os.WriteFile(cfg, []byte(`policy:
  mode: enforce
  max_age: 86400
  mx: [mail.example.com]
policy_host: mail.example.com
tlsrpt:
  rua: [mailto:tls-reports@example.com]
ttl: 3600
publish_gate: false
domains: [example.com, sub.example.com]
providers:
  cf:
    type: cloudflare
    api_token: `+token+`
    rate_limit: 1000/s
zones:
  example.com: cf
`), 0o600); err != nil {
		t.Fatal(err)
	}
	before := fake.Dump("example.com")
	fake.Middleware().ResetCounts()

	var out, errOut bytes.Buffer
	e := env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }, transport: fake.Transport()}
	code := run(context.Background(), []string{"mtasts-sync", "apply", "--config", cfg, "--resolver", ns.Addr()}, e)
	if code != exitError {
		t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitError, out.String(), errOut.String())
	}
	want := "domain sub.example.com is delegated to ns.elsewhere.test.: its records belong in that zone, not in zone example.com"
	if !strings.Contains(out.String()+errOut.String(), want) {
		t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", want, out.String(), errOut.String())
	}
	if strings.Contains(out.String(), "Confirmed in sync by DNS") {
		t.Errorf("the DNS shortcut confirmed a zone holding a delegated domain:\n%s", out.String())
	}
	if fake.Middleware().Total() == 0 {
		t.Error("the zone was not read through the API")
	}
	if w := fake.Middleware().Writes(); w != 0 {
		t.Errorf("%d writes, want none", w)
	}
	if after := fake.Dump("example.com"); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("zone changed:\nbefore %q\nafter  %q", before, after)
	}
}
