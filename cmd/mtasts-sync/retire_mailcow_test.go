package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/mailcow/mailcowtest"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// mailcowLife is one retirement with the mailcow fake: example.org leaves,
// old.example.org (inactive in mailcow) has records that are merely
// skipped, and gone.example.org's records are orphans.
type mailcowLife struct {
	t   *testing.T
	mc  *mailcowtest.Server
	cfg string
	d   checktest.Dialer
	ca  string
}

func newMailcowLife(t *testing.T, extra string) *mailcowLife {
	t.Helper()
	mc, cfg := mailcowSetup(t, extra)
	zone := filepath.Join(filepath.Dir(cfg), "zones", "example.org.zone")
	f, err := os.OpenFile(zone, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(`mta-sts.old.example.org. 3600 IN CNAME mail.example.com.
mta-sts.gone.example.org. 3600 IN CNAME mail.example.com.
_mta-sts.gone.example.org. 3600 IN TXT "v=STSv1; id=gone1"
_mta-sts.example.org. 3600 IN TXT "google-site-verification=keep-me"
`)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return &mailcowLife{t: t, mc: mc, cfg: cfg, d: checktest.Dialer{Routes: map[string]string{mc.PolicyHost(): mc.PolicyHost()}}}
}

// frontMailcow puts an HTTPS front with certificates for mta-sts.<d> of
// every d before the mailcow fake, as mailcow's nginx with its ACME
// certificates is, and turns the publish gate on: the gate then fetches
// exactly what mailcow serves, so an id can only go out after mailcow
// serves its policy.
func (l *mailcowLife) frontMailcow(domains ...string) {
	l.t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(l.mc.CertPEM())
	backend, err := url.Parse(l.mc.URL())
	if err != nil {
		l.t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(backend)
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	base := proxy.Director
	proxy.Director = func(r *http.Request) {
		host := r.Host
		base(r)
		r.Host = host // mailcow answers by the Host asked for
	}
	ca := checktest.NewCA(l.t)
	certs := map[string]*tls.Certificate{}
	for _, d := range domains {
		certs["mta-sts."+d] = ca.Issue(l.t, []string{"mta-sts." + d}, lifeNow.Add(-30*24*time.Hour), time.Now().Add(90*24*time.Hour))
	}
	addr := checktest.StartHTTPS(l.t, &tls.Config{GetCertificate: checktest.CertsBySNI(certs, nil)}, proxy)
	for _, d := range domains {
		l.d.Routes["mta-sts."+d+":443"] = addr
	}
	l.ca = filepath.Join(l.t.TempDir(), "ca.pem")
	if err := os.WriteFile(l.ca, ca.PEM(), 0o644); err != nil {
		l.t.Fatal(err)
	}
	b, err := os.ReadFile(l.cfg)
	if err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(l.cfg, []byte(strings.Replace(string(b), "publish_gate: false", "publish_gate: true", 1)), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

func (l *mailcowLife) run(now time.Time, args ...string) result {
	l.t.Helper()
	args = append(args, "--config", l.cfg)
	if l.ca != "" {
		args = append(args, "--ca-file", l.ca)
	}
	r := runLife(l.t, now, l.d, args...)
	l.t.Logf("%s %v: exit %d\n%s%s", now.Format(time.RFC3339), args, r.code, r.stdout, r.stderr)
	return r
}

func (l *mailcowLife) retire() {
	l.t.Helper()
	b, err := os.ReadFile(l.cfg)
	if err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(l.cfg, append(b, "retire:\n  example.org: 2026-11-20\n"...), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

func (l *mailcowLife) zone() []string {
	return zoneLines(l.t, filepath.Join(filepath.Dir(l.cfg), "zones", "example.org.zone"))
}

func (l *mailcowLife) expect(r result, code int, wants ...string) {
	l.t.Helper()
	if r.code != code {
		l.t.Errorf("exit %d, want %d\n%s%s", r.code, code, r.stdout, r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(squash(r.stdout), squash(w)) {
			l.t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
}

// finish runs the wait out: the three records go in reverse order, the
// foreign TXT, the skipped domain's and the orphan's records stay, and
// the rerun changes nothing.
func (l *mailcowLife) finish(noneID string) {
	l.t.Helper()
	before := l.zone()
	r := l.run(waitIsOver, "apply")
	l.expect(r, 0, `- _mta-sts.example.org. TXT "v=STSv1; id=`+noneID+`"`,
		"- mta-sts.example.org. CNAME mail.example.com.",
		"example.org is retired: its records are removed; you can now remove it from retire: (and from mailcow, if it is there).")
	if i, j, k := strings.Index(r.stdout, "- _mta-sts.example.org."), strings.Index(r.stdout, "- _smtp._tls.example.org."), strings.Index(r.stdout, "- mta-sts.example.org."); !(i < j && j < k) {
		l.t.Errorf("removals not in reverse order:\n%s", r.stdout)
	}
	after := l.zone()
	for _, line := range before {
		name := strings.Fields(line)[0]
		gone := name == "mta-sts.example.org." || name == "_smtp._tls.example.org." || (name == "_mta-sts.example.org." && strings.Contains(line, "v=STSv1"))
		if containsLine(after, line) == gone && !strings.Contains(line, "\tSOA\t") {
			l.t.Errorf("after removal, %q: removed=%v, want %v", line, !gone, gone)
		}
	}
	r = l.run(waitIsOver.Add(time.Hour), "plan", "--detailed-exitcode")
	l.expect(r, 0, "retired example.org: no records left: remove example.org from retire: and from mailcow",
		"orphaned gone.example.org (zone example.org, provider files): mta-sts.gone.example.org. CNAME mail.example.com., _mta-sts.gone.example.org. TXT \"v=STSv1; id=gone1\"")
	if r := l.run(waitIsOver.Add(time.Hour), "apply", "--quiet"); r.code != 0 || r.stdout != "" {
		l.t.Errorf("rerun: exit %d, printed %q", r.code, r.stdout)
	}
}

// checkSkippedNotOrphan: a domain mailcow skipped keeps its records and
// is listed as skipped, never as an orphan.
func (l *mailcowLife) checkSkippedNotOrphan(r result) {
	l.t.Helper()
	if !strings.Contains(r.stdout, "skipped old.example.org: ") || strings.Contains(r.stdout, "orphaned old.example.org") {
		l.t.Errorf("old.example.org (inactive in mailcow) not listed as skipped, or as an orphan:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "orphaned gone.example.org") {
		l.t.Errorf("orphan gone.example.org not listed:\n%s", r.stdout)
	}
}

// TestRetireMailcowManaged: with manage_policy, mtasts-sync edits
// mailcow's entry to mode none (keeping max_age) before the id changes.
func TestRetireMailcowManaged(t *testing.T) {
	l := newMailcowLife(t, "  manage_policy: true\npolicy:\n  mode: enforce\n  max_age: 604800\n")
	l.frontMailcow("example.com", "example.org", "example.net", "xn--bcher-kva.example.com")
	l.expect(l.run(dayBefore, "apply"), 0)
	l.retire()
	r := l.run(retireDay, "plan")
	l.expect(r, 0, "~ mailcow policy example.org: mode enforce -> mode none",
		`~ _mta-sts.example.org. TXT "v=STSv1; id=`+enforceWeek.ID()+`" -> "v=STSv1; id=`+noneWeek.ID()+`"`,
		"retiring example.org: retiring since 2026-11-20: mode none; records removed after 2026-11-27")
	l.checkSkippedNotOrphan(r)
	if strings.Index(r.stdout, "mailcow policy example.org") > strings.Index(r.stdout, "_mta-sts.example.org.") {
		t.Errorf("the mailcow step does not come before the id:\n%s", r.stdout)
	}
	// The gate fetched mode none from mailcow before the id changed.
	r = l.run(retireDay, "apply")
	l.expect(r, 0, "mailcow policy of example.org written.", `~ _mta-sts.example.org. TXT "v=STSv1; id=`+enforceWeek.ID()+`" -> "v=STSv1; id=`+noneWeek.ID()+`"`)
	if strings.Contains(r.stdout, "withheld") {
		t.Errorf("an id was withheld although mailcow serves its policy:\n%s", r.stdout)
	}
	if got := l.mc.STS()["example.org"]; got.Mode != "none" || got.MaxAge != 604800 || !got.Active {
		t.Errorf("mailcow's entry of example.org = %+v, want mode none, max_age 604800", got)
	}
	if got := l.mc.STS()["example.com"]; got.Mode != "enforce" {
		t.Errorf("example.com's entry changed too: %+v", got)
	}
	if r := l.run(retireDay, "apply", "--quiet"); r.code != 0 || r.stdout != "" {
		t.Errorf("rerun: exit %d, printed %q", r.code, r.stdout)
	}
	l.finish(noneWeek.ID())
}

// TestRetireMailcowServed: mailcow serves what its UI says; until it
// serves mode none the domain is blocked with what to set there.
func TestRetireMailcowServed(t *testing.T) {
	l := newMailcowLife(t, "")
	l.mc.SetSTS(stsEntry("example.com", mtasts.ModeEnforce, 604800))
	l.mc.SetSTS(stsEntry("example.org", mtasts.ModeEnforce, 604800))
	l.expect(l.run(dayBefore, "apply"), 0)
	before := l.zone()
	l.retire()
	r := l.run(retireDay, "apply")
	l.expect(r, 0, "blocked example.org: retiring since 2026-11-20, but mode none cannot go out: mailcow still serves mode enforce for example.org: in mailcow's UI (Configuration → Mail Setup → Domains → example.org → MTA-STS) set mode none and keep max_age 604800")
	l.checkSkippedNotOrphan(r)
	if got := l.zone(); strings.Join(got, "\n") != strings.Join(before, "\n") {
		t.Errorf("a blocked domain's zone changed:\n%q\n%q", before, got)
	}
	l.mc.SetSTS(stsEntry("example.org", mtasts.ModeNone, 604800))
	l.expect(l.run(retireDay.Add(time.Hour), "apply"), 0,
		`~ _mta-sts.example.org. TXT "v=STSv1; id=`+enforceWeek.ID()+`" -> "v=STSv1; id=`+noneWeek.ID()+`"`,
		"retiring example.org: retiring since 2026-11-20: mode none; records removed after 2026-11-27")
	l.finish(noneWeek.ID())
}

// TestRetireMailcowPolicyFile: one policy.file serves every domain, so
// the user serves example.org's mode none; its id waits for the gate
// until the web server does.
func TestRetireMailcowPolicyFile(t *testing.T) {
	l := newMailcowLife(t, "policy:\n  mode: enforce\n  max_age: 604800\n  file: ./mta-sts.txt\n")
	b, _ := os.ReadFile(l.cfg)
	if err := os.WriteFile(l.cfg, []byte(strings.Replace(string(b), "publish_gate: false", "publish_gate: true", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	web := startPolicyWeb(t, "example.com", "example.org", "example.net", "xn--bcher-kva.example.com")
	for _, d := range []string{"example.com", "example.org", "example.net", "xn--bcher-kva.example.com"} {
		web.serve(d, enforceWeek.Render())
		l.d.Routes["mta-sts."+d+":443"] = web.addr
	}
	l.ca = web.caFile
	l.expect(l.run(dayBefore, "apply"), 0)
	l.retire()
	r := l.run(retireDay, "apply")
	l.expect(r, 0, `? _mta-sts.example.org. TXT "v=STSv1; id=`+noneWeek.ID()+`" withheld https://mta-sts.example.org/.well-known/mta-sts.txt serves another policy (mode enforce, not mode none)`,
		"retiring example.org: retiring since 2026-11-20: mode none; records removed after 2026-11-27; one policy serves every domain here, so serve its own at https://mta-sts.example.org/.well-known/mta-sts.txt yourself (mode none, max_age 604800, mx mail.example.com; or use policy.dir): its id "+noneWeek.ID()+" waits until it is served")
	l.checkSkippedNotOrphan(r)
	web.serve("example.org", noneWeek.Render())
	l.expect(l.run(retireDay.Add(time.Hour), "apply"), 0,
		`~ _mta-sts.example.org. TXT "v=STSv1; id=`+enforceWeek.ID()+`" -> "v=STSv1; id=`+noneWeek.ID()+`"`)
	l.finish(noneWeek.ID())
}
