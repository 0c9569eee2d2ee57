package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/cloudflarefake"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// TestCloudflareProxiedHint: when the policy host of a domain in a
// Cloudflare zone fails (here: the wrong certificate, as Cloudflare's own
// would be), check and the publish gate read the record's proxied flag
// and name the orange cloud, with how to turn it off; once the proxy is
// off, they no longer blame it.
func TestCloudflareProxiedHint(t *testing.T) {
	const token = "cf-token"
	fake := cloudflarefake.New(token, fakeapi.Options{})
	t.Cleanup(fake.Close)
	if err := fake.Seed("example.org", "mta-sts.example.org. 300 IN CNAME mail.example.com."); err != nil {
		t.Fatal(err)
	}
	if err := fake.SetProxied("example.org", "mta-sts.example.org", true); err != nil {
		t.Fatal(err)
	}
	policy := mtasts.Policy{Mode: mtasts.ModeTesting, MaxAge: 604800, MX: []string{"mail.example.com"}}
	// No certificate for mta-sts.example.org: the fallback is for mail.example.com.
	web := startPolicyWeb(t)
	web.serve("example.org", policy.Render())
	dnsSrv := checktest.StartDNS(t, checktest.DNSConfig{Records: []string{
		"example.org. 300 IN MX 10 mail.example.com.",
		`_mta-sts.example.org. 300 IN TXT "v=STSv1; id=` + policy.ID() + `"`,
	}})
	cfg := filepath.Join(t.TempDir(), "mtasts-sync.yaml")
	if err := os.WriteFile(cfg, []byte(`policy:
  mode: testing
  max_age: 604800
policy_host: mail.example.com
publish_gate: true
domains: [example.org]
providers:
  cf:
    type: cloudflare
    api_token: `+token+`
    rate_limit: 1000/s
    burst: 1000
zones:
  example.org: cf
`), 0o644); err != nil {
		t.Fatal(err)
	}
	run1 := func(args ...string) result {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"mtasts-sync"}, args...), env{
			stdout: &out, stderr: &errOut, getenv: func(string) string { return "" },
			dialer: web.dialer("example.org"), transport: fake.Transport(),
		})
		return result{code, out.String(), errOut.String()}
	}
	checkArgs := []string{"check", "--config", cfg, "--resolver", dnsSrv.Addr, "--ca-file", web.caFile, "--output", "json"}
	planArgs := []string{"plan", "--config", cfg, "--ca-file", web.caFile, "--no-dns-shortcut"}
	const proxied = "mta-sts.example.org is proxied by Cloudflare (orange cloud)"

	r := run1(checkArgs...)
	if !strings.Contains(r.stdout, proxied) || !strings.Contains(r.stdout, "DNS only") {
		t.Errorf("check of a proxied policy host does not name the proxy:\n%s%s", r.stdout, r.stderr)
	}
	r = run1(planArgs...)
	if !strings.Contains(r.stdout, "withheld") || !strings.Contains(r.stdout, proxied) {
		t.Errorf("the gate does not name the proxy:\n%s%s", r.stdout, r.stderr)
	}

	if err := fake.SetProxied("example.org", "mta-sts.example.org", false); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{checkArgs, planArgs} {
		if r := run1(args...); strings.Contains(r.stdout, "orange cloud") {
			t.Errorf("%s blames the proxy after it was turned off:\n%s", args[0], r.stdout)
		}
	}
}
