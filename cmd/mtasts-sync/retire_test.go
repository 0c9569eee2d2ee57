package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/internal/testbind"
)

// The days of a retirement, on the injected clock.
var (
	dayBefore   = time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC)
	retireDay   = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC) // retire: example.org: 2026-11-20
	duringWait  = time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC)
	waitIsOver  = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC) // 2026-11-20 + max_age 604800 + the day of 2026-11-20
	enforceWeek = mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}}
	noneWeek    = mtasts.Policy{Mode: mtasts.ModeNone, MaxAge: 604800, MX: []string{"mail.example.com"}}
)

// lifeZones are the zones of the retirement tests: example.org holds
// foreign records at the very names its retirement removes, example.com
// the records of gone.example.com, which nothing claims any more.
var lifeZones = map[string][]string{
	"example.com": {
		"example.com. 3600 IN MX 10 mail.example.com.",
		"mail.example.com. 3600 IN A 192.0.2.25",
		"mta-sts.gone.example.com. 3600 IN CNAME mail.example.com.",
		`_mta-sts.gone.example.com. 3600 IN TXT "v=STSv1; id=gone1"`,
		`_smtp._tls.gone.example.com. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@example.com"`,
	},
	"example.org": {
		"example.org. 3600 IN MX 10 mail.example.com.",
		"www.example.org. 3600 IN A 192.0.2.80",
		`_mta-sts.example.org. 3600 IN TXT "google-site-verification=keep-me"`,
		`_smtp._tls.example.org. 3600 IN TXT "unrelated=keep-me-too"`,
	},
}

// lifeBackend is where the zones of a retirement test live.
type lifeBackend struct {
	// provider is the providers: entry "dns" for the config.
	provider string
	// dump returns a zone's records, sorted, without SOA and NS.
	dump func(t *testing.T, zone string) []string
}

func zonefileBackend(t *testing.T, dir string) lifeBackend {
	t.Helper()
	zdir := filepath.Join(dir, "zones")
	if err := os.MkdirAll(zdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for zone, recs := range lifeZones {
		text := fmt.Sprintf("$ORIGIN %s.\n@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600\n@ 3600 IN NS ns1.example.com.\n%s\n", zone, strings.Join(recs, "\n"))
		if err := os.WriteFile(filepath.Join(zdir, zone+".zone"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return lifeBackend{
		provider: "  dns:\n    type: zonefile\n    directory: ./zones\n",
		dump: func(t *testing.T, zone string) []string {
			return canonicalLines(t, zoneLines(t, filepath.Join(zdir, zone+".zone")))
		},
	}
}

func bindBackend(t *testing.T) lifeBackend {
	t.Helper()
	var zones []testbind.Zone
	for zone, recs := range lifeZones {
		zones = append(zones, testbind.Zone{Name: zone, Records: recs})
	}
	srv := testbind.Start(t, zones...)
	return lifeBackend{
		provider: fmt.Sprintf("  dns:\n    type: rfc2136\n    server: %s\n    key_name: %s\n    key_alg: %s\n    key: %s\n", srv.Addr, srv.KeyName, srv.KeyAlg, srv.Secret),
		dump: func(t *testing.T, zone string) []string {
			lines, err := srv.Dump(t.Context(), zone)
			if err != nil {
				t.Fatal(err)
			}
			return canonicalLines(t, lines)
		},
	}
}

// canonicalLines parses presentation lines and prints them one way, TTLs
// and SOA/NS left out, sorted.
func canonicalLines(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if rr == nil || rr.Header().Rrtype == dns.TypeSOA || rr.Header().Rrtype == dns.TypeNS {
			continue
		}
		rr.Header().Ttl = 0
		out = append(out, strings.ToLower(rr.Header().Name)+" "+dns.TypeToString[rr.Header().Rrtype]+" "+strings.TrimPrefix(rr.String(), rr.Header().String()))
	}
	sort.Strings(out)
	return out
}

func ourLines(lines []string, domain string) []string {
	var out []string
	for _, l := range lines {
		name := strings.Fields(l)[0]
		for _, p := range []string{"mta-sts.", "_mta-sts.", "_smtp._tls."} {
			if name == p+domain+"." && !strings.Contains(l, "keep-me") {
				out = append(out, l)
			}
		}
	}
	return out
}

// lifeConfig writes the config of a retirement test: example.com and
// example.org managed (keep), or example.org retired since 2026-11-20.
func lifeConfig(t *testing.T, path, provider string, retire bool) {
	t.Helper()
	domains := "domains: [example.com, example.org]\n"
	if retire {
		domains = "domains: [example.com]\nretire:\n  example.org: 2026-11-20\n"
	}
	text := `policy:
  mode: enforce
  max_age: 604800
  mx: [mail.example.com]
  dir: ./web
policy_host: mail.example.com
tlsrpt:
  rua: [mailto:tls-reports@example.com]
` + domains + `providers:
` + provider + `zones:
  example.com: dns
  example.org: dns
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRetireZonefile(t *testing.T) {
	dir := t.TempDir()
	testRetire(t, dir, zonefileBackend(t, dir))
}

func TestRetireBIND(t *testing.T) {
	testRetire(t, t.TempDir(), bindBackend(t))
}

// testRetire is a domain's whole end with policy.dir and the publish gate
// against a real web server: mode none goes out first and its id second;
// after max_age the three records go in reverse order while the foreign
// records at the same names and the orphan stay; reruns do nothing.
func testRetire(t *testing.T, dir string, b lifeBackend) {
	cfg := filepath.Join(dir, "mtasts-sync.yaml")
	web := filepath.Join(dir, "web")
	d, caFile := startDirWeb(t, web, "example.com", "example.org")
	at := func(now time.Time, args ...string) result {
		t.Helper()
		r := runLife(t, now, d, append(args, "--config", cfg, "--ca-file", caFile)...)
		t.Logf("%s %v: exit %d\n%s%s", now.Format(time.RFC3339), args, r.code, r.stdout, r.stderr)
		return r
	}
	orgFile := filepath.Join(web, "mta-sts.example.org", ".well-known", "mta-sts.txt")
	orphan := ourLines(b.dump(t, "example.com"), "gone.example.com")

	// Born: both domains get their records and their own policy files.
	lifeConfig(t, cfg, b.provider, false)
	if r := at(dayBefore, "apply"); r.code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	born := b.dump(t, "example.org")
	if got := ourLines(born, "example.org"); len(got) != 3 || !strings.Contains(strings.Join(got, "\n"), "id="+enforceWeek.ID()) {
		t.Fatalf("example.org after the first apply: %q", got)
	}
	r := at(dayBefore, "plan")
	for _, want := range []string{
		"orphaned gone.example.com (zone example.com, provider dns): mta-sts.gone.example.com. CNAME mail.example.com., _smtp._tls.gone.example.com. TXT \"v=TLSRPTv1; rua=mailto:tls-reports@example.com\", _mta-sts.gone.example.com. TXT \"v=STSv1; id=gone1\"; ours by shape, but gone.example.com is neither a domain of the config or mailcow nor in retire:; left alone: add it to retire: (retire: {gone.example.com: 2026-11-19}) to remove its records safely, or back to domains:",
		"Plan: 0 to add, 0 to change, 0 to delete",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}

	// Retiring: mode none with its own id, through the domain's file.
	lifeConfig(t, cfg, b.provider, true)
	r = at(retireDay, "plan")
	for _, want := range []string{
		"~ policy-file " + orgFile + ": id " + enforceWeek.ID() + " -> id " + noneWeek.ID(),
		`~ _mta-sts.example.org. TXT "v=STSv1; id=` + enforceWeek.ID() + `" -> "v=STSv1; id=` + noneWeek.ID() + `"`,
		"retiring example.org: retiring since 2026-11-20: mode none; records removed after 2026-11-27",
		"orphaned gone.example.com",
		"Plan: 0 to add, 2 to change, 0 to delete",
	} {
		if !strings.Contains(squash(r.stdout), squash(want)) {
			t.Errorf("plan on the retirement day lacks %q:\n%s", want, r.stdout)
		}
	}
	r = at(retireDay, "apply")
	if r.code != 0 || strings.Contains(r.stdout, "withheld") {
		t.Fatalf("apply on the retirement day: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The gate fetched mode none from the web server before the id changed.
	if got, _ := os.ReadFile(orgFile); string(got) != string(noneWeek.Render()) {
		t.Errorf("example.org's policy file: %q", got)
	}
	retiring := b.dump(t, "example.org")
	if got := ourLines(retiring, "example.org"); len(got) != 3 || !strings.Contains(strings.Join(got, "\n"), "id="+noneWeek.ID()) {
		t.Errorf("example.org while retiring: %q", got)
	}
	if r := at(retireDay, "apply", "--quiet"); r.code != 0 || r.stdout != "" {
		t.Errorf("rerun on the retirement day: exit %d, printed %q", r.code, r.stdout)
	}
	if r := at(duringWait, "plan", "--detailed-exitcode"); r.code != 0 || !strings.Contains(r.stdout, "retiring example.org: retiring since 2026-11-20: mode none; records removed after 2026-11-27") {
		t.Errorf("plan during the wait: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// After the wait: the three records go, in reverse order.
	r = at(waitIsOver, "apply")
	if r.code != 0 {
		t.Fatalf("apply after the wait: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out := squash(r.stdout)
	order := []string{
		`- _mta-sts.example.org. TXT "v=STSv1; id=` + noneWeek.ID() + `"`,
		`- _smtp._tls.example.org. TXT "v=TLSRPTv1; rua=mailto:tls-reports@example.com"`,
		"- mta-sts.example.org. CNAME mail.example.com.",
	}
	last := -1
	for _, want := range order {
		i := strings.Index(out, squash(want))
		if i < 0 || i < last {
			t.Errorf("apply after the wait: %q missing or out of order:\n%s", want, r.stdout)
		}
		last = i
	}
	for _, want := range []string{"then remove example.org from retire:", "Applied 3 change(s) in 1 zone(s).",
		"example.org is retired: its records are removed; you can now remove it from retire: (and from mailcow, if it is there)."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply after the wait lacks %q:\n%s", want, r.stdout)
		}
	}
	after := b.dump(t, "example.org")
	if diff := cmp.Diff(without(born, func(l string) bool { return len(ourLines([]string{l}, "example.org")) > 0 }), after); diff != "" {
		t.Errorf("example.org after removal (-want +got): only our three records may go:\n%s", diff)
	}
	// The rerun plans nothing for it, and says it may leave retire:.
	r = at(waitIsOver.Add(time.Hour), "plan", "--detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.stdout, "retired example.org: no records left: remove example.org from retire:") {
		t.Errorf("plan after removal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := at(waitIsOver.Add(time.Hour), "apply", "--quiet"); r.code != 0 || r.stdout != "" {
		t.Errorf("apply after removal: exit %d, printed %q", r.code, r.stdout)
	}
	if got := ourLines(b.dump(t, "example.com"), "gone.example.com"); !cmp.Equal(got, orphan) {
		t.Errorf("the orphan's records changed: %q, want %q", got, orphan)
	}
}

// TestRetireTooLate: a date in retire: days before mode none first goes
// out would end the wait too early; the domain is refused, with the date
// to write instead, and nothing of it changes.
func TestRetireTooLate(t *testing.T) {
	dir := t.TempDir()
	b := zonefileBackend(t, dir)
	cfg := filepath.Join(dir, "mtasts-sync.yaml")
	web := filepath.Join(dir, "web")
	d, caFile := startDirWeb(t, web, "example.com", "example.org")
	lifeConfig(t, cfg, b.provider, false)
	if r := runLife(t, dayBefore, d, "apply", "--config", cfg, "--ca-file", caFile); r.code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	before := b.dump(t, "example.org")
	lifeConfig(t, cfg, b.provider, true)
	late := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	r := runLife(t, late, d, "apply", "--config", cfg, "--ca-file", caFile)
	t.Logf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	if r.code != exitError || !strings.Contains(r.stdout, "set retire: example.org: 2026-11-23 (today)") {
		t.Errorf("apply three days late: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if diff := cmp.Diff(before, b.dump(t, "example.org")); diff != "" {
		t.Errorf("example.org changed (-before +after):\n%s", diff)
	}
	if got, _ := os.ReadFile(filepath.Join(web, "mta-sts.example.org", ".well-known", "mta-sts.txt")); string(got) != string(enforceWeek.Render()) {
		t.Errorf("a refused domain's policy file changed: %q", got)
	}
}

// TestRetireWaitsForTheLongestMaxAge: the wait counts the largest max_age
// published for the domain, read where every machine sees it (the policy
// served at https://mta-sts.<domain>/), not the config's lower one.
func TestRetireWaitsForTheLongestMaxAge(t *testing.T) {
	cfg := gateConfig(t)
	b, _ := os.ReadFile(cfg)
	text := strings.Replace(string(b), "  mx: [mail.example.com]\n", "  mx: [mail.example.com]\n  file: ./mta-sts.txt\n", 1)
	text = strings.Replace(text, "  - example.org    # stale id, legacy spelling of the TLSRPT record\n", "", 1)
	text += "retire:\n  example.org: 2026-11-20\n"
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	web := startPolicyWeb(t, "example.com", "example.org", "example.net")
	twoWeeks := mtasts.Policy{Mode: mtasts.ModeTesting, MaxAge: 1209600, MX: []string{"mail.example.com"}}
	web.serve("example.org", twoWeeks.Render())
	none := mtasts.Policy{Mode: mtasts.ModeNone, MaxAge: 1209600, MX: []string{"mail.example.com"}}
	r := runLife(t, retireDay, web.dialer("example.com", "example.org", "example.net"), "plan", "--config", cfg, "--ca-file", web.caFile)
	for _, want := range []string{
		"retiring example.org: retiring since 2026-11-20: mode none; records removed after 2026-12-04",
		"serve its own at https://mta-sts.example.org/.well-known/mta-sts.txt yourself (mode none, max_age 1209600, mx mail.example.com; or use policy.dir): its id " + none.ID(),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
}

// TestRetireDelegated: in the delegated layout a retiring domain trades
// its CNAME to the primary's id for an id of its own (mode none), and
// its removal takes the CNAMEs to the primary's names too.
func TestRetireDelegated(t *testing.T) {
	dir := t.TempDir()
	b := zonefileBackend(t, dir)
	// A CNAME cannot stand beside the foreign TXT records of the other tests.
	zone := filepath.Join(dir, "zones", "example.org.zone")
	removeLine(t, zone, "_mta-sts.example.org.")
	removeLine(t, zone, "_smtp._tls.example.org.")
	cfg := filepath.Join(dir, "mtasts-sync.yaml")
	d, caFile := startDirWeb(t, filepath.Join(dir, "web"), "example.com", "example.org")
	delegate := func(retire bool) {
		t.Helper()
		lifeConfig(t, cfg, b.provider, retire)
		f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString("layout: delegated\nprimary: example.com\n"); err != nil {
			t.Fatal(err)
		}
	}
	at := func(now time.Time, args ...string) result {
		t.Helper()
		r := runLife(t, now, d, append(args, "--config", cfg, "--ca-file", caFile)...)
		t.Logf("%s %v: exit %d\n%s%s", now.Format(time.RFC3339), args, r.code, r.stdout, r.stderr)
		return r
	}
	delegate(false)
	if r := at(dayBefore, "apply"); r.code != 0 {
		t.Fatalf("first apply: exit %d", r.code)
	}
	if got := strings.Join(ourLines(b.dump(t, "example.org"), "example.org"), "\n"); !strings.Contains(got, "CNAME _mta-sts.example.com.") {
		t.Fatalf("example.org does not point at the primary's id:\n%s", got)
	}
	delegate(true)
	r := at(retireDay, "apply")
	for _, want := range []string{
		"- _mta-sts.example.org. CNAME _mta-sts.example.com.",
		`+ _mta-sts.example.org. TXT "v=STSv1; id=` + noneWeek.ID() + `"`,
	} {
		if !strings.Contains(squash(r.stdout), squash(want)) || r.code != 0 {
			t.Errorf("apply on the retirement day (exit %d) lacks %q:\n%s", r.code, want, r.stdout)
		}
	}
	if r := at(retireDay, "apply", "--quiet"); r.code != 0 || r.stdout != "" {
		t.Errorf("rerun: exit %d, printed %q", r.code, r.stdout)
	}
	r = at(waitIsOver, "apply")
	for _, want := range []string{
		`- _mta-sts.example.org. TXT "v=STSv1; id=` + noneWeek.ID() + `"`,
		"- _smtp._tls.example.org. CNAME _smtp._tls.example.com.",
		"- mta-sts.example.org. CNAME mail.example.com.",
	} {
		if !strings.Contains(squash(r.stdout), squash(want)) || r.code != 0 {
			t.Errorf("apply after the wait (exit %d) lacks %q:\n%s", r.code, want, r.stdout)
		}
	}
	if got := ourLines(b.dump(t, "example.org"), "example.org"); len(got) != 0 {
		t.Errorf("records left: %q", got)
	}
	if got := strings.Join(ourLines(b.dump(t, "example.com"), "example.com"), "\n"); !strings.Contains(got, "v=STSv1; id="+enforceWeek.ID()) {
		t.Errorf("the primary's records changed:\n%s", got)
	}
}

// TestCheckLeavesRetiringDomainsOut: check without arguments checks the
// managed domains only; a domain in retire: is checked when named.
func TestCheckLeavesRetiringDomainsOut(t *testing.T) {
	dir := t.TempDir()
	b := zonefileBackend(t, dir)
	cfg := filepath.Join(dir, "mtasts-sync.yaml")
	lifeConfig(t, cfg, b.provider, true)
	dnsSrv := checktest.StartDNS(t, checktest.DNSConfig{Records: []string{"example.com. 300 IN MX 10 mail.example.com."}})
	domains := func(args ...string) []string {
		t.Helper()
		r := runLife(t, retireDay, checktest.Dialer{}, append([]string{"check", "--config", cfg, "--resolver", dnsSrv.Addr, "--output", "json"}, args...)...)
		var reports []check.Report
		if err := json.Unmarshal([]byte(r.stdout), &reports); err != nil {
			t.Fatalf("check: %v\n%s%s", err, r.stdout, r.stderr)
		}
		var out []string
		for _, rep := range reports {
			out = append(out, rep.Domain)
		}
		return out
	}
	if got := domains(); !cmp.Equal(got, []string{"example.com"}) {
		t.Errorf("check without arguments checked %q, want only example.com", got)
	}
	if got := domains("example.org"); !cmp.Equal(got, []string{"example.org"}) {
		t.Errorf("check example.org checked %q", got)
	}
}

// TestRetireNeverAddsRecords: a retiring domain whose _mta-sts record is
// gone already (removed by hand, or a removal cut short) gets no new one
// while it waits; after the wait the rest goes.
func TestRetireNeverAddsRecords(t *testing.T) {
	dir := t.TempDir()
	b := zonefileBackend(t, dir)
	cfg := filepath.Join(dir, "mtasts-sync.yaml")
	d, caFile := startDirWeb(t, filepath.Join(dir, "web"), "example.com", "example.org")
	lifeConfig(t, cfg, b.provider, false)
	if r := runLife(t, dayBefore, d, "apply", "--config", cfg, "--ca-file", caFile); r.code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	zone := filepath.Join(dir, "zones", "example.org.zone")
	text, err := os.ReadFile(zone)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(string(text), "\n") {
		if !strings.Contains(l, "v=STSv1") {
			kept = append(kept, l)
		}
	}
	if err := os.WriteFile(zone, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	lifeConfig(t, cfg, b.provider, true)
	r := runLife(t, retireDay, d, "apply", "--config", cfg, "--ca-file", caFile)
	if r.code != 0 || strings.Contains(r.stdout, "_mta-sts.example.org.") || !strings.Contains(r.stdout, "retiring example.org: retiring since 2026-11-20") {
		t.Errorf("apply while waiting: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runLife(t, waitIsOver, d, "apply", "--config", cfg, "--ca-file", caFile)
	if r.code != 0 || !strings.Contains(r.stdout, "- mta-sts.example.org.") || !strings.Contains(r.stdout, "- _smtp._tls.example.org.") {
		t.Errorf("apply after the wait: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := ourLines(b.dump(t, "example.org"), "example.org"); len(got) != 0 {
		t.Errorf("records left: %q", got)
	}
}

// TestRetireSavedPlan: a reviewed plan carries the retirement: apply
// PLANFILE publishes mode none (its domain's file) before the id, and a
// later saved plan removes the records and says the domain may go.
func TestRetireSavedPlan(t *testing.T) {
	dir := t.TempDir()
	b := zonefileBackend(t, dir)
	cfg := filepath.Join(dir, "mtasts-sync.yaml")
	web := filepath.Join(dir, "web")
	d, caFile := startDirWeb(t, web, "example.com", "example.org")
	at := func(now time.Time, args ...string) result {
		t.Helper()
		r := runLife(t, now, d, append(args, "--config", cfg, "--ca-file", caFile)...)
		t.Logf("%s %v: exit %d\n%s%s", now.Format(time.RFC3339), args, r.code, r.stdout, r.stderr)
		return r
	}
	lifeConfig(t, cfg, b.provider, false)
	if r := at(dayBefore, "apply"); r.code != 0 {
		t.Fatalf("first apply: exit %d", r.code)
	}
	lifeConfig(t, cfg, b.provider, true)
	saved := filepath.Join(dir, "retire.plan")
	if r := at(retireDay, "plan", "--out", saved); r.code != 0 {
		t.Fatalf("plan --out: exit %d", r.code)
	}
	r := at(retireDay, "apply", saved)
	if r.code != 0 || !strings.Contains(squash(r.stdout), squash(`~ _mta-sts.example.org. TXT "v=STSv1; id=`+enforceWeek.ID()+`" -> "v=STSv1; id=`+noneWeek.ID()+`"`)) || strings.Contains(r.stdout, "withheld") {
		t.Errorf("apply of the saved retirement: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(web, "mta-sts.example.org", ".well-known", "mta-sts.txt")); string(got) != string(noneWeek.Render()) {
		t.Errorf("example.org's policy file: %q", got)
	}
	if r := at(waitIsOver, "plan", "--out", saved); r.code != 0 {
		t.Fatalf("plan --out after the wait: exit %d", r.code)
	}
	r = at(waitIsOver, "apply", saved)
	if r.code != 0 || !strings.Contains(r.stdout, "example.org is retired") {
		t.Errorf("apply of the saved removal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := ourLines(b.dump(t, "example.org"), "example.org"); len(got) != 0 {
		t.Errorf("records left: %q", got)
	}
}
