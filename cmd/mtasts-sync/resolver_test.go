package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// TestOneResolverEndToEnd: with --resolver and no test dialer, check (with
// --smtp) and the publish gate reach a policy host and an MX that only
// that resolver knows (names under .test, which no public resolver
// answers); a resolver that does not know the policy host withholds the id
// with a reason naming the resolver.
func TestOneResolverEndToEnd(t *testing.T) {
	const domain = "only-here.test"
	for _, name := range []string{"mta-sts." + domain, "mx." + domain} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		addrs, err := net.DefaultResolver.LookupHost(ctx, name)
		cancel()
		if err == nil {
			t.Fatalf("the system resolver knows %s (%v): the test cannot tell which resolver was used", name, addrs)
		}
	}
	policy := mtasts.Policy{Mode: mtasts.ModeTesting, MaxAge: 604800, MX: []string{"mx." + domain}}
	ca := checktest.NewCA(t)
	now := time.Now()
	web := checktest.StartHTTPS(t, &tls.Config{GetCertificate: checktest.CertsBySNI(map[string]*tls.Certificate{
		"mta-sts." + domain: ca.Issue(t, []string{"mta-sts." + domain}, now.Add(-time.Hour), now.Add(90*24*time.Hour)),
	}, nil)}, webPolicy(policy.Render()))
	smtp := checktest.StartSMTP(t, &tls.Config{Certificates: []tls.Certificate{
		*ca.Issue(t, []string{"mx." + domain}, now.Add(-time.Hour), now.Add(90*24*time.Hour)),
	}})
	knows := checktest.StartDNS(t, checktest.DNSConfig{Recursive: true, Records: []string{
		domain + ". 300 IN MX 10 mx." + domain + ".",
		"mx." + domain + ". 300 IN A 127.0.0.1",
		"mta-sts." + domain + ". 300 IN CNAME policy." + domain + ".",
		"policy." + domain + ". 300 IN A 127.0.0.1",
		`_mta-sts.` + domain + `. 300 IN TXT "v=STSv1; id=` + policy.ID() + `"`,
		`_smtp._tls.` + domain + `. 300 IN TXT "v=TLSRPTv1; rua=mailto:r@` + domain + `"`,
	}})
	unaware := checktest.StartDNS(t, checktest.DNSConfig{Records: []string{domain + ". 300 IN MX 10 mx." + domain + "."}})

	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	cfg := filepath.Join(dir, "mtasts-sync.yaml")
	files := map[string]string{
		caFile: string(ca.PEM()),
		cfg: `policy:
  mode: testing
  max_age: 604800
  mx: [mx.` + domain + `]
policy_host: policy.` + domain + `
publish_gate: true
domains: [` + domain + `]
providers:
  files:
    type: zonefile
    directory: ./zones
zones:
  ` + domain + `: files
`,
		filepath.Join(dir, "zones", domain+".zone"): "$ORIGIN " + domain + ".\n$TTL 3600\n" +
			"@ IN SOA ns1." + domain + ". hostmaster." + domain + ". 1 7200 3600 1209600 3600\n@ IN NS ns1." + domain + ".\n",
	}
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run1 := func(args ...string) result {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"mtasts-sync"}, args...), env{
			stdout: &out, stderr: &errOut, getenv: func(string) string { return "" },
			httpsPort: portOf(t, web), smtpPort: portOf(t, smtp),
		})
		return result{code, out.String(), errOut.String()}
	}

	r := run1("check", "--resolver", knows.Addr, "--ca-file", caFile, "--smtp", "--output", "json", domain)
	if r.code != 0 || strings.Contains(r.stdout, `"fail"`) || !strings.Contains(r.stdout, `"smtp mx.`+domain+`"`) {
		t.Errorf("check through the resolver that knows the hosts: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run1("plan", "--config", cfg, "--resolver", knows.Addr, "--ca-file", caFile)
	if !strings.Contains(squash(r.stdout), "+ _mta-sts."+domain+". TXT") || strings.Contains(r.stdout, "withheld") {
		t.Errorf("the gate through the resolver that knows the policy host withheld the id:\n%s%s", r.stdout, r.stderr)
	}
	r = run1("plan", "--config", cfg, "--resolver", unaware.Addr, "--ca-file", caFile)
	if !strings.Contains(r.stdout, "withheld") || !strings.Contains(r.stdout, "cannot resolve mta-sts."+domain+" through resolver "+unaware.Addr) {
		t.Errorf("the gate through a resolver without the policy host:\n%s%s", r.stdout, r.stderr)
	}
}

// webPolicy serves body at the policy path.
func webPolicy(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
