package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// policyWeb is an HTTPS server serving a policy per mta-sts.<domain> Host,
// with certificates from a test CA.
type policyWeb struct {
	addr   string
	caFile string
	mu     sync.Mutex
	bodies map[string][]byte // by domain
}

func (w *policyWeb) serve(domain string, body []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bodies[domain] = body
}

// startPolicyWeb serves valid certificates for mta-sts.<d> of every d in
// good, and one for mail.example.com only to any other name.
func startPolicyWeb(t *testing.T, good ...string) *policyWeb {
	t.Helper()
	ca := checktest.NewCA(t)
	now := time.Now()
	certs := map[string]*tls.Certificate{}
	for _, d := range good {
		certs["mta-sts."+d] = ca.Issue(t, []string{"mta-sts." + d}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	}
	fallback := ca.Issue(t, []string{"mail.example.com"}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	w := &policyWeb{bodies: map[string][]byte{}}
	w.addr = checktest.StartHTTPS(t, &tls.Config{GetCertificate: checktest.CertsBySNI(certs, fallback)},
		http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			w.mu.Lock()
			body, ok := w.bodies[strings.TrimPrefix(strings.Split(r.Host, ":")[0], "mta-sts.")]
			w.mu.Unlock()
			if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
				http.NotFound(rw, r)
				return
			}
			rw.Header().Set("Content-Type", "text/plain")
			_, _ = rw.Write(body)
		}))
	w.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(w.caFile, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *policyWeb) dialer(domains ...string) checktest.Dialer {
	routes := map[string]string{}
	for _, d := range domains {
		routes["mta-sts."+d+":443"] = w.addr
	}
	return checktest.Dialer{Routes: routes}
}

func runWith(t *testing.T, d check.Dialer, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"mtasts-sync"}, args...),
		env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }, dialer: d})
	return result{code, out.String(), errOut.String()}
}

// gateConfig turns the quickstart's publish gate back on.
func gateConfig(t *testing.T) string {
	t.Helper()
	cfg := quickstart(t)
	b, _ := os.ReadFile(cfg)
	b = bytes.Replace(b, []byte("publish_gate: false"), []byte("publish_gate: true"), 1)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

var quickstartPolicy = mtasts.Policy{Mode: mtasts.ModeTesting, MaxAge: 604800, MX: []string{"mail.example.com"}}

// TestPublishGate: an id goes out only when its policy is served; the
// other records go ahead, and apply still exits 0 (cron publishes later).
func TestPublishGate(t *testing.T) {
	cfg := gateConfig(t)
	// example.org serves the policy with a valid certificate; example.net's
	// policy host still has mailcow's certificate (no mta-sts.example.net).
	web := startPolicyWeb(t, "example.org")
	web.serve("example.org", quickstartPolicy.Render())
	web.serve("example.net", quickstartPolicy.Render())
	// Remove the conflict so apply can end with 0.
	removeLine(t, filepath.Join(filepath.Dir(cfg), "zones", "example.net.zone"), "mta-sts ")
	d := web.dialer("example.org", "example.net")

	r := runWith(t, d, "apply", "--config", cfg, "--ca-file", web.caFile)
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out := squash(r.stdout)
	for _, want := range []string{
		`~ _mta-sts.example.org. TXT "v=STSv1; id=20240101" -> "v=STSv1; id=c0a762642c8ff96deabc"`,
		"+ mta-sts.example.net. CNAME mail.example.com.",
		`+ _smtp._tls.example.net. TXT`,
		`? _mta-sts.example.net. TXT "v=STSv1; id=c0a762642c8ff96deabc" withheld https://mta-sts.example.net/.well-known/mta-sts.txt: x509: certificate is valid for mail.example.com, not mta-sts.example.net`,
	} {
		if !strings.Contains(out, squash(want)) {
			t.Errorf("apply lacks %q:\n%s", want, r.stdout)
		}
	}
	// Once the certificate is there, the next run publishes the id.
	web2 := startPolicyWeb(t, "example.org", "example.net")
	web2.serve("example.net", quickstartPolicy.Render())
	r = runWith(t, web2.dialer("example.net"), "apply", "--config", cfg, "--ca-file", web2.caFile)
	if r.code != 0 || !strings.Contains(squash(r.stdout), `+ _mta-sts.example.net. TXT "v=STSv1; id=c0a762642c8ff96deabc"`) {
		t.Errorf("apply after the certificate came: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestPublishGateComparesWrittenPolicy: with policy.file, a web server
// still serving the old policy holds the new id back.
func TestPublishGateComparesWrittenPolicy(t *testing.T) {
	cfg := gateConfig(t)
	dir := filepath.Dir(cfg)
	removeLine(t, filepath.Join(dir, "zones", "example.net.zone"), "mta-sts ")
	b, _ := os.ReadFile(cfg)
	b = bytes.Replace(b, []byte("  mx: [mail.example.com]\n"), []byte("  mx: [mail.example.com]\n  file: ./mta-sts.txt\n"), 1)
	b = bytes.Replace(b, []byte("mode: testing"), []byte("mode: enforce"), 1)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	web := startPolicyWeb(t, "example.com", "example.org", "example.net")
	for _, d := range []string{"example.com", "example.org", "example.net"} {
		web.serve(d, quickstartPolicy.Render()) // the old policy: testing
	}
	r := runWith(t, web.dialer("example.com", "example.org", "example.net"), "apply", "--config", cfg, "--ca-file", web.caFile)
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "Policy file "+filepath.Join(dir, "mta-sts.txt")+" written.") {
		t.Errorf("policy file not written:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "serves another policy (mode testing, not mode enforce)") {
		t.Errorf("id not held back for a stale served policy:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "~ _mta-sts.example.org.") {
		t.Errorf("id changed while the old policy is served:\n%s", r.stdout)
	}
}

// TestCheckCommand: check sees a domain the way a sender does.
func TestCheckCommand(t *testing.T) {
	enforce := mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}}
	web := startPolicyWeb(t, "example.org", "example.net")
	web.serve("example.org", enforce.Render())
	web.serve("example.net", enforce.Render())
	dnsSrv := checktest.StartDNS(t, checktest.DNSConfig{Records: []string{
		"example.org. 300 IN MX 10 mail.example.com.",
		`_mta-sts.example.org. 300 IN TXT "v=STSv1;id=` + enforce.ID() + `;"`,
		`_smtp._tls.example.org. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@example.com"`,
		"example.net. 300 IN MX 10 mx.elsewhere.example.",
		`_mta-sts.example.net. 300 IN TXT "v=STSv1; id=` + enforce.ID() + `"`,
		`_smtp._tls.example.net. 300 IN TXT "v=TLSRPTv1; rua=http://reports.example.net/"`,
	}})
	d := web.dialer("example.org", "example.net")
	r := runWith(t, d, "check", "--resolver", dnsSrv.Addr, "--ca-file", web.caFile, "example.org")
	if r.code != 0 {
		t.Errorf("check of a correct domain: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "fail") || !strings.Contains(r.stdout, "pass") {
		t.Errorf("check of a correct domain:\n%s", r.stdout)
	}
	r = runWith(t, d, "check", "--resolver", dnsSrv.Addr, "--ca-file", web.caFile, "--output", "json", "example.org", "example.net")
	if r.code != exitError {
		t.Errorf("check with a failing domain: exit %d, want 1\n%s", r.code, r.stdout)
	}
	var reports []check.Report
	if err := json.Unmarshal([]byte(r.stdout), &reports); err != nil || len(reports) != 2 {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	verdicts := map[string]check.Verdict{}
	for _, res := range reports[1].Results {
		verdicts[res.Check] = res.Verdict
	}
	if verdicts["mx-coverage"] != check.Fail || verdicts["tlsrpt-record"] != check.Fail {
		t.Errorf("example.net verdicts %v; want mx-coverage and tlsrpt-record to fail", verdicts)
	}
}

// TestCheckStrict: warnings alone exit 0, and 1 with --strict.
func TestCheckStrict(t *testing.T) {
	enforce := mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}}
	web := startPolicyWeb(t, "example.org")
	web.serve("example.org", enforce.Render())
	dnsSrv := checktest.StartDNS(t, checktest.DNSConfig{Records: []string{
		"example.org. 300 IN MX 10 mail.example.com.",
		// Allowed by the ABNF, discarded by the prose prefix test: a warning.
		`_mta-sts.example.org. 300 IN TXT "v=STSv1 ; id=` + enforce.ID() + `"`,
		`_smtp._tls.example.org. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@example.com"`,
	}})
	d := web.dialer("example.org")
	args := []string{"check", "--resolver", dnsSrv.Addr, "--ca-file", web.caFile, "example.org"}
	r := runWith(t, d, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "warn") || strings.Contains(r.stdout, "fail") {
		t.Errorf("check with a warning: exit %d, want 0 and a warn\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runWith(t, d, append(args, "--strict")...); r.code != exitError {
		t.Errorf("check --strict with a warning: exit %d, want 1\n%s", r.code, r.stdout)
	}
}

// TestNoPublishGateFlag: --no-publish-gate publishes ids without fetching.
func TestNoPublishGateFlag(t *testing.T) {
	cfg := gateConfig(t)
	removeLine(t, filepath.Join(filepath.Dir(cfg), "zones", "example.net.zone"), "mta-sts ")
	// No route anywhere: with the gate on, every id would be withheld.
	r := runWith(t, checktest.Dialer{}, "apply", "--config", cfg, "--no-publish-gate")
	if r.code != 0 || strings.Contains(r.stdout, "withheld") || !strings.Contains(squash(r.stdout), `+ _mta-sts.example.net. TXT`) {
		t.Errorf("apply --no-publish-gate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestCheckTableColour: coloured output is the plain output plus colour
// codes around the verdict words: the same words (fail, not FAIL) in the
// same columns, so the table stays aligned on a terminal.
func TestCheckTableColour(t *testing.T) {
	reports := []check.Report{
		{Domain: "example.org", Results: []check.Result{
			{Check: "mx", Verdict: check.Pass, Reason: "mail.example.com (10)"},
			{Check: "smtp mail.example.com", Verdict: check.Warn, Reason: "expires soon"},
		}},
		{Domain: "a-much-longer-name.example.net", Results: []check.Result{
			{Check: "policy-host", Verdict: check.Fail, Reason: "HTTP 404"},
		}},
	}
	var plain, coloured bytes.Buffer
	if err := writeCheckTable(&plain, reports, false); err != nil {
		t.Fatal(err)
	}
	if err := writeCheckTable(&coloured, reports, true); err != nil {
		t.Fatal(err)
	}
	ansi := regexp.MustCompile("\x1b\\[[0-9;]*m")
	if got := ansi.ReplaceAllString(coloured.String(), ""); got != plain.String() {
		t.Errorf("coloured output without its colour codes differs from plain output:\n%s\nplain:\n%s", got, plain.String())
	}
	for _, want := range []string{"\x1b[32mpass\x1b[0m", "\x1b[33mwarn\x1b[0m", "\x1b[31mfail\x1b[0m"} {
		if !strings.Contains(coloured.String(), want) {
			t.Errorf("coloured output lacks %q:\n%q", want, coloured.String())
		}
	}
	lines := strings.Split(strings.TrimSuffix(plain.String(), "\n"), "\n")
	col := strings.Index(lines[0], "REASON")
	reasons := []string{"mail.example.com (10)", "expires soon", "HTTP 404"}
	for i, l := range lines[1:] {
		if strings.Index(l, reasons[i]) != col {
			t.Errorf("row %d: reason at column %d, header REASON at %d:\n%s", i+1, strings.Index(l, reasons[i]), col, plain.String())
		}
		if strings.Index(l, []string{"pass", "warn", "fail"}[i]) != strings.Index(lines[0], "VERDICT") {
			t.Errorf("row %d: verdict not under VERDICT:\n%s", i+1, plain.String())
		}
	}
}
