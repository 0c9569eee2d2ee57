package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mtasts-sync/mtasts-sync/internal/mailcow"
	"github.com/mtasts-sync/mtasts-sync/internal/mailcow/mailcowtest"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

const mailcowKey = "mc-key-0123456789"

// mailcowSetup starts a fake mailcow holding a realistic mix of domains and
// writes a config that discovers them, with zone files for their zones.
// extra is appended to the config.
func mailcowSetup(t *testing.T, extra string) (*mailcowtest.Server, string) {
	t.Helper()
	mc := mailcowtest.New(mailcowKey)
	t.Cleanup(mc.Close)
	mc.AddDomain(mailcowtest.Domain{Name: "example.com", Active: true})
	mc.AddDomain(mailcowtest.Domain{Name: "example.org", Active: true})
	mc.AddDomain(mailcowtest.Domain{Name: "old.example.org", Active: false})
	mc.AddDomain(mailcowtest.Domain{Name: "backup.example.org", Active: true, BackupMX: true})
	mc.AddDomain(mailcowtest.Domain{Name: "xn--bcher-kva.example.com", Active: true})
	mc.AddAliasDomain(mailcowtest.AliasDomain{Name: "example.net", Target: "example.com", Active: true})
	mc.AddAliasDomain(mailcowtest.AliasDomain{Name: "alias.example.org", Target: "old.example.org", Active: true})
	t.Setenv("MAILCOW_API_KEY", mailcowKey)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), mc.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "zones"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, z := range []string{"example.com", "example.org", "example.net"} {
		zone := fmt.Sprintf("$ORIGIN %s.\n@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600\n@ 3600 IN NS ns1.example.com.\n@ 3600 IN MX 10 mail.example.com.\n", z)
		if err := os.WriteFile(filepath.Join(dir, "zones", z+".zone"), []byte(zone), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`policy_host: mail.example.com
tlsrpt:
  rua: [mailto:tls-reports@example.com]
publish_gate: false
providers:
  files:
    type: zonefile
    directory: ./zones
zones:
  example.com: files
  example.org: files
  example.net: files
mailcow:
  url: %s
  api_key: ${MAILCOW_API_KEY}
  ca_file: ./ca.pem
%s`, mc.URL(), extra)
	path := filepath.Join(dir, "mtasts-sync.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return mc, path
}

func stsEntry(domain string, mode mtasts.Mode, maxAge int64) mailcow.STS {
	return mailcow.STS{Domain: domain, Mode: string(mode), MX: []string{"mail.example.com"}, MaxAge: maxAge, Active: true}
}

func policyID(mode mtasts.Mode, maxAge int64) string {
	return mtasts.Policy{Mode: mode, MaxAge: maxAge, MX: []string{"mail.example.com"}}.ID()
}

// TestMailcowServedPolicy: without a policy: section, each domain's id
// comes from the policy mailcow serves for it; domains mailcow serves none
// for, and the ones it must not cover, are skipped with a reason.
func TestMailcowServedPolicy(t *testing.T) {
	mc, cfg := mailcowSetup(t, "")
	mc.SetSTS(stsEntry("example.com", mtasts.ModeEnforce, 86400))
	mc.SetSTS(stsEntry("xn--bcher-kva.example.com", mtasts.ModeTesting, 604800))

	r := runCLI(t, nil, "domains", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("domains: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"example.com                example.com  files     mailcow                         " + policyID(mtasts.ModeEnforce, 86400),
		"example.net                example.net  files     mailcow (alias of example.com)  " + policyID(mtasts.ModeEnforce, 86400),
		"xn--bcher-kva.example.com  example.com  files     mailcow                         " + policyID(mtasts.ModeTesting, 604800),
		"skipped backup.example.org: ",
		"skipped old.example.org: ",
		"skipped alias.example.org: ",
		"skipped example.org: mailcow serves no MTA-STS policy for it",
	} {
		if !strings.Contains(squash(r.stdout), squash(want)) {
			t.Errorf("domains lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCLI(t, nil, "plan", "--config", cfg)
	for _, want := range []string{
		`+ _mta-sts.example.com.                TXT    "v=STSv1; id=` + policyID(mtasts.ModeEnforce, 86400) + `"`,
		`+ _mta-sts.example.net.  TXT    "v=STSv1; id=` + policyID(mtasts.ModeEnforce, 86400) + `"`,
		`+ _mta-sts.xn--bcher-kva.example.com.  TXT    "v=STSv1; id=` + policyID(mtasts.ModeTesting, 604800) + `"`,
		"skipped backup.example.org: this mailcow is only backup MX",
	} {
		if !strings.Contains(squash(r.stdout), squash(want)) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "_mta-sts.example.org.") {
		t.Errorf("planned records for a domain mailcow serves no policy for:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, mailcowKey) {
		t.Error("the API key appears in the output")
	}
}

// TestMailcowDomainJustAdded is the everyday use: apply, add a domain in
// mailcow, apply again: only the new domain's records are created.
func TestMailcowDomainJustAdded(t *testing.T) {
	mc, cfg := mailcowSetup(t, "")
	mc.SetSTS(stsEntry("example.com", mtasts.ModeEnforce, 86400))
	if r := runCLI(t, nil, "apply", "--config", cfg); r.code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	before := zoneLines(t, filepath.Join(filepath.Dir(cfg), "zones", "example.com.zone"))

	mc.AddDomain(mailcowtest.Domain{Name: "shop.example.com", Active: true})
	mc.SetSTS(stsEntry("shop.example.com", mtasts.ModeTesting, 604800))
	r := runCLI(t, nil, "apply", "--config", cfg, "--quiet")
	if r.code != 0 {
		t.Fatalf("second apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "Applied 3 change(s) in 1 zone(s).") {
		t.Errorf("second apply:\n%s", r.stdout)
	}
	after := zoneLines(t, filepath.Join(filepath.Dir(cfg), "zones", "example.com.zone"))
	var added []string
	for _, l := range without(after, func(l string) bool { return containsLine(before, l) }) {
		if !strings.Contains(l, "\tSOA\t") {
			added = append(added, strings.Fields(l)[0])
		}
	}
	want := []string{"_mta-sts.shop.example.com.", "_smtp._tls.shop.example.com.", "mta-sts.shop.example.com."}
	if diff := cmp.Diff(want, added); diff != "" {
		t.Errorf("records added by the second apply (-want +got):\n%s", diff)
	}
	if r := runCLI(t, nil, "apply", "--config", cfg, "--quiet"); r.code != 0 || r.stdout != "" {
		t.Errorf("third apply: exit %d, printed %q", r.code, r.stdout)
	}
}

// TestMailcowManagedPolicy: with manage_policy, mailcow's entries are made
// to match policy: before any DNS change, each shown as its own line.
func TestMailcowManagedPolicy(t *testing.T) {
	mc, cfg := mailcowSetup(t, "  manage_policy: true\npolicy:\n  mode: enforce\n  max_age: 604800\n")
	mc.SetSTS(stsEntry("example.com", mtasts.ModeTesting, 604800))
	r := runCLI(t, nil, "plan", "--config", cfg)
	for _, want := range []string{
		"~ mailcow policy example.com: mode testing -> mode enforce",
		"+ mailcow policy example.org: mode enforce, max_age 604800, mx mail.example.com",
		"+ mailcow policy xn--bcher-kva.example.com: ",
		`+ _mta-sts.example.org.  TXT    "v=STSv1; id=` + policyID(mtasts.ModeEnforce, 604800) + `"`,
	} {
		if !strings.Contains(squash(r.stdout), squash(want)) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "mailcow policy example.net") {
		t.Errorf("an alias domain got its own mailcow entry:\n%s", r.stdout)
	}
	if r := runCLI(t, nil, "apply", "--config", cfg); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	got := mc.STS()
	for _, d := range []string{"example.com", "example.org", "xn--bcher-kva.example.com"} {
		if got[d].Mode != "enforce" || got[d].MaxAge != 604800 || !got[d].Active {
			t.Errorf("mailcow entry of %s = %+v", d, got[d])
		}
	}
	r = runCLI(t, nil, "plan", "--config", cfg, "--detailed-exitcode")
	if r.code != 0 || strings.Contains(r.stdout, "mailcow policy") {
		t.Errorf("rerun: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestMailcowDiscoveryFailure: a mailcow that refuses or answers a login
// page stops the run before anything is applied.
func TestMailcowDiscoveryFailure(t *testing.T) {
	for _, tt := range []struct {
		name, body, ctype string
		status            int
		want              string
	}{
		{"401", `{"type":"error","msg":"authentication failed"}`, "application/json", 401, "401"},
		{"html login page", "<!DOCTYPE html><html><body>Login</body></html>", "text/html", 200, "HTML"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mc, cfg := mailcowSetup(t, "")
			mc.SetSTS(stsEntry("example.com", mtasts.ModeEnforce, 86400))
			mc.Fail(tt.status, tt.body, tt.ctype)
			before := zoneLines(t, filepath.Join(filepath.Dir(cfg), "zones", "example.com.zone"))
			r := runCLI(t, nil, "apply", "--config", cfg)
			if r.code != exitError || !strings.Contains(r.stderr, "nothing is applied") || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, mc.URL()) {
				t.Errorf("exit %d, stderr %q; want 1 naming the URL and %q", r.code, r.stderr, tt.want)
			}
			if diff := cmp.Diff(before, zoneLines(t, filepath.Join(filepath.Dir(cfg), "zones", "example.com.zone"))); diff != "" {
				t.Errorf("zone changed after a failed discovery:\n%s", diff)
			}
		})
	}
}

// TestMailcowPolicyFileCoverage: with the classic static policy file, a
// mailcow.conf that does not make mailcow answer for mta-sts.<domain> is
// a warning that says exactly what to add.
func TestMailcowPolicyFileCoverage(t *testing.T) {
	_, cfg := mailcowSetup(t, "  conf: ./mailcow.conf\npolicy:\n  mode: testing\n  max_age: 604800\n  file: ./mta-sts.txt\n")
	conf := "MAILCOW_HOSTNAME=mail.example.com\nADDITIONAL_SAN=\nADDITIONAL_SERVER_NAMES=\n"
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "mailcow.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "plan", "--config", cfg)
	if !strings.Contains(r.stdout, "warning: ") || !strings.Contains(r.stdout, "ADDITIONAL_SAN=mta-sts.*") {
		t.Errorf("plan lacks the mailcow.conf warning:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "+ policy-file ") {
		t.Errorf("plan lacks the policy file:\n%s", r.stdout)
	}
}

// TestPolicyCommandTakesMXFromMailcow: without policy_host and mx, the
// policy names mailcow's host, exactly as plan and apply publish it.
func TestPolicyCommandTakesMXFromMailcow(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MAILCOW_API_KEY", mailcowKey)
	cfg := filepath.Join(dir, "mtasts-sync.yaml")
	body := "policy:\n  mode: enforce\n  max_age: 604800\nmailcow:\n  url: https://mail.example.com\n  api_key: ${MAILCOW_API_KEY}\n  conf: ./mailcow.conf\nprovider: files\nproviders:\n  files:\n    type: zonefile\n    directory: ./zones\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mailcow.conf"), []byte("MAILCOW_HOSTNAME=mx1.example.net\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 604800, MX: []string{"mx1.example.net"}}
	r := runCLI(t, nil, "policy", "--config", cfg)
	if r.code != 0 || r.stdout != "# id: "+want.ID()+"\n"+string(want.Render()) {
		t.Errorf("policy: exit %d\n%q\nwant the policy naming mx1.example.net\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestMailcowRedirectRefused: a mailcow URL that answers with a redirect to
// another host must not take the API key there, nor apply what that host
// answers. The second server is real: it records every request and answers
// as a mailcow would (a reverse proxy to the fake), so a client that follows
// the redirect gets domains and applies them.
func TestMailcowRedirectRefused(t *testing.T) {
	mc, cfg := mailcowSetup(t, "policy:\n  mode: enforce\n  max_age: 86400\n  file: ./mta-sts.txt\n")
	target, err := url.Parse(mc.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = mc.Client().Transport
	var mu sync.Mutex
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" X-API-Key="+r.Header.Get("X-API-Key"))
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(other.Close)
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(front.Close)

	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(text), mc.URL(), front.URL, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(cfg)
	zone := filepath.Join(dir, "zones", "example.com.zone")
	before := zoneLines(t, zone)

	r := runCLI(t, nil, "apply", "--config", cfg)
	if r.code != exitError {
		t.Errorf("exit %d, want %d", r.code, exitError)
	}
	for _, want := range []string{"nothing is applied", "HTTP 302", "redirects to " + otherURL + "/api/v1/get/domain/all", "not followed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stdout+r.stderr, mailcowKey) {
		t.Error("the API key appears in the output")
	}
	mu.Lock()
	if len(seen) > 0 {
		t.Errorf("the server redirected to received %v", seen)
	}
	mu.Unlock()
	if diff := cmp.Diff(before, zoneLines(t, zone)); diff != "" {
		t.Errorf("zone changed after a refused redirect:\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, "mta-sts.txt")); !os.IsNotExist(err) {
		t.Errorf("policy file written after a refused redirect (stat: %v)", err)
	}
}
