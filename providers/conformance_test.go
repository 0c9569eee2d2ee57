package providers_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/engine"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// The suite's world: two zones, mail domains in both, one of them a
// subdomain living in its parent's zone.
const (
	zoneCom    = "example.com"
	zoneOrg    = "example.org"
	policyHost = "mail.example.com"
	tlsrptRUA  = "mailto:tls-reports@example.com"
	maxAge     = 604800
)

var (
	suiteZones  = []string{zoneCom, zoneOrg}
	mailDomains = map[string][]string{zoneCom: {"eu.example.com", "example.com"}, zoneOrg: {"example.org"}}
)

// TestConformance runs every scenario on every provider through the real
// code path: YAML config, config.Parse, engine.New, Plan, Apply.
func TestConformance(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, pc providerCase)
	}{
		{"create", scenarioCreate},
		{"rerun", scenarioRerun},
		{"policy-edit", scenarioPolicyEdit},
		{"foreign-records", scenarioForeign},
		{"conflict", scenarioConflict},
		{"api-failures", scenarioFailures},
		{"legacy-forms", scenarioLegacy},
		{"zone-cut", scenarioZoneCut},
		{"dane", scenarioDANE},
		{"dane-saved-plan", scenarioDANESavedPlan},
		{"saved-plan", scenarioSavedPlan},
		{"retire", scenarioRetire},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, pc := range providerCases() {
				t.Run(pc.typ, func(t *testing.T) { sc.run(t, pc) })
			}
		})
	}
}

// baseForeign is what a zone holds before we come: mail, web and SPF.
func baseForeign() []zoneSeed {
	return []zoneSeed{
		{zoneCom, []string{
			"example.com. 3600 IN MX 10 mail.example.com.",
			`example.com. 3600 IN TXT "v=spf1 mx -all"`,
			"mail.example.com. 3600 IN A 192.0.2.25",
			"www.example.com. 3600 IN A 192.0.2.80",
		}},
		{zoneOrg, []string{
			"example.org. 3600 IN MX 10 mail.example.com.",
			`example.org. 3600 IN TXT "v=spf1 include:example.com -all"`,
			"www.example.org. 3600 IN A 192.0.2.81",
		}},
	}
}

// suiteConfig is the config file of a run: every zone on the target's
// provider unless owner maps it to another block.
func suiteConfig(maxAge int, blocks []providerBlock, owner map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `policy:
  mode: enforce
  max_age: %d
  mx: [%s]
policy_host: %s
tlsrpt:
  rua: [%s]
layout: direct
ttl: 3600
publish_gate: false
domains: [example.com, eu.example.com, example.org]
providers:
`, maxAge, policyHost, policyHost, tlsrptRUA)
	for _, bl := range blocks {
		b.WriteString(bl.yaml())
	}
	b.WriteString("zones:\n")
	for _, z := range suiteZones {
		name := blocks[0].name
		if o, ok := owner[z]; ok {
			name = o
		}
		fmt.Fprintf(&b, "  %s: %s\n", z, name)
	}
	return b.String()
}

func (tg *target) config(maxAge int) string {
	return suiteConfig(maxAge, []providerBlock{tg.block}, nil)
}

func parseConfig(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(text), filepath.Join(t.TempDir(), "mtasts-sync.yaml"),
		engine.ConfigOptions())
	if err != nil {
		t.Fatalf("config:\n%s\n%v", text, err)
	}
	return cfg
}

// policyID is the id the config's policy gets.
func policyID(t *testing.T, text string) string {
	return parseConfig(t, text).Policy.MTASTS().ID()
}

// plan builds a fresh engine, as one CLI run does, and plans.
func plan(t *testing.T, tg *target, text string) (*engine.Engine, *engine.Run) {
	t.Helper()
	ctx := withTimeout(t)
	eng, err := engine.New(ctx, parseConfig(t, text), engine.Options{Providers: tg.opts, NoPublishGate: true})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	run, err := eng.Plan(ctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return eng, run
}

// planApply is one whole apply run.
func planApply(t *testing.T, tg *target, text string) (*engine.Run, engine.Report) {
	t.Helper()
	eng, run := plan(t, tg, text)
	return run, eng.Apply(withTimeout(t), run)
}

// converge applies text and fails the test unless the run succeeds.
func converge(t *testing.T, tg *target, text string) {
	t.Helper()
	if _, rep := planApply(t, tg, text); rep.Err != nil {
		t.Fatalf("apply: %v", rep.Err)
	}
}

// ours returns our three records for every mail domain of zone, in the
// canonical form of a dump.
func ours(t *testing.T, zone, id string) []string {
	t.Helper()
	var lines []string
	for _, d := range mailDomains[zone] {
		lines = append(lines,
			fmt.Sprintf("mta-sts.%s. 3600 IN CNAME %s.", d, policyHost),
			fmt.Sprintf("_smtp._tls.%s. 3600 IN TXT %q", d, "v=TLSRPTv1; rua="+tlsrptRUA),
			stsLine(d, id))
	}
	return canonical(t, lines)
}

func stsLine(domain, id string) string {
	return fmt.Sprintf("_mta-sts.%s. 3600 IN TXT %q", domain, "v=STSv1; id="+id)
}

func dumps(t *testing.T, tg *target) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, z := range suiteZones {
		out[z] = tg.dump(t, z)
	}
	return out
}

func union(sets ...[]string) []string {
	var out []string
	for _, s := range sets {
		out = append(out, s...)
	}
	sort.Strings(out)
	return out
}

// minus returns the lines of a that are not in b, as a multiset.
func minus(a, b []string) []string {
	left := map[string]int{}
	for _, l := range b {
		left[l]++
	}
	var out []string
	for _, l := range a {
		if left[l] > 0 {
			left[l]--
			continue
		}
		out = append(out, l)
	}
	return out
}

// sameZone fails the test unless got equals want line for line, showing
// the difference.
func sameZone(t *testing.T, zone string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	t.Errorf("zone %s differs\nmissing:\n  %s\nunexpected:\n  %s", zone,
		strings.Join(minus(want, got), "\n  "), strings.Join(minus(got, want), "\n  "))
}

// nothingPending fails unless the plan writes nothing.
func nothingPending(t *testing.T, run *engine.Run) {
	t.Helper()
	s := run.Plan.Summary()
	if s.Create+s.Update+s.Delete+s.Errors > 0 {
		t.Errorf("plan after convergence has work: %+v\n%s", s, planText(run.Plan))
	}
	for _, zp := range run.Plan.Zones {
		if zp.Pending() {
			t.Errorf("zone %s (provider %s) has pending changes", zp.Zone, zp.Provider)
		}
	}
}

func planText(p reconcile.Plan) string {
	var b strings.Builder
	for _, z := range p.Zones {
		fmt.Fprintf(&b, "zone %s (%s) err=%v in-sync=%v\n", z.Zone, z.Provider, z.Err, z.InSync)
		for _, c := range z.Changes {
			fmt.Fprintf(&b, "  %s %s %s old=%q new=%q %s\n", c.Action, c.Name, c.Type, c.Old, c.New, c.Reason)
		}
	}
	return b.String()
}

// watchWrites starts watching the target for writes; the returned func
// reports the writes seen since.
func watchWrites(t *testing.T, tg *target) func() string {
	t.Helper()
	if tg.mw != nil {
		tg.mw.ResetCounts()
		return func() string {
			if n := tg.mw.Writes(); n > 0 {
				return fmt.Sprintf("%d write requests (%s)", n, tg.mw)
			}
			return ""
		}
	}
	var same []func() bool
	for _, z := range suiteZones {
		same = append(same, tg.snapshot(t, z))
	}
	return func() string {
		for i, unchanged := range same {
			if !unchanged() {
				return "zone " + suiteZones[i] + " was written"
			}
		}
		return ""
	}
}

// requestCounts is the target's request counters for the report, or a
// note where there is no HTTP API.
func requestCounts(tg *target) string {
	if tg.mw == nil {
		return "(no HTTP API)"
	}
	return tg.mw.String()
}

// Scenario 1: a zone with foreign records only gets exactly our records.
func scenarioCreate(t *testing.T, pc providerCase) {
	tg := pc.setup(t, baseForeign())
	text := tg.config(maxAge)
	id := policyID(t, text)
	before := dumps(t, tg)
	run, rep := planApply(t, tg, text)
	if rep.Err != nil {
		t.Fatalf("apply: %v\n%s", rep.Err, planText(run.Plan))
	}
	if s := run.Plan.Summary(); s.Create != 9 || s.Update+s.Delete+s.Conflict+s.Errors != 0 {
		t.Errorf("plan summary %+v, want 9 creates and nothing else\n%s", s, planText(run.Plan))
	}
	t.Logf("request counts, create run (plan+apply) on %s: %s", pc.typ, requestCounts(tg))
	after := dumps(t, tg)
	for _, z := range suiteZones {
		sameZone(t, z, after[z], union(before[z], ours(t, z, id)))
	}
}

// Scenario 2: a rerun plans nothing and writes nothing.
func scenarioRerun(t *testing.T, pc providerCase) {
	tg := pc.setup(t, baseForeign())
	text := tg.config(maxAge)
	converge(t, tg, text)
	before := dumps(t, tg)
	writes := watchWrites(t, tg)
	run, rep := planApply(t, tg, text)
	if rep.Err != nil {
		t.Fatalf("rerun: %v", rep.Err)
	}
	nothingPending(t, run)
	if s := run.Plan.Summary(); s.InSync != 3 {
		t.Errorf("in sync: %d domains, want 3", s.InSync)
	}
	if w := writes(); w != "" {
		t.Errorf("rerun wrote: %s", w)
	}
	t.Logf("request counts, rerun (plan+apply) on %s: %s", pc.typ, requestCounts(tg))
	after := dumps(t, tg)
	for _, z := range suiteZones {
		sameZone(t, z, after[z], before[z])
	}
}

// Scenario 3: a policy edit changes the _mta-sts TXT records and nothing else.
func scenarioPolicyEdit(t *testing.T, pc providerCase) {
	tg := pc.setup(t, baseForeign())
	oldText, newText := tg.config(maxAge), tg.config(86400)
	oldID, newID := policyID(t, oldText), policyID(t, newText)
	if oldID == newID {
		t.Fatal("a new max_age must give a new policy id")
	}
	converge(t, tg, oldText)
	before := dumps(t, tg)
	run, rep := planApply(t, tg, newText)
	if rep.Err != nil {
		t.Fatalf("apply: %v", rep.Err)
	}
	for _, zp := range run.Plan.Zones {
		for _, c := range zp.Changes {
			if c.Action != reconcile.Update || c.Type != "TXT" || !strings.HasPrefix(c.Name, "_mta-sts.") {
				t.Errorf("planned %s %s %s; only _mta-sts TXT updates belong in this plan", c.Action, c.Name, c.Type)
			}
		}
	}
	after := dumps(t, tg)
	for _, z := range suiteZones {
		var gone, came []string
		for _, d := range mailDomains[z] {
			gone = append(gone, stsLine(d, oldID))
			came = append(came, stsLine(d, newID))
		}
		gone, came = canonical(t, gone), canonical(t, came)
		removed, added := minus(before[z], after[z]), minus(after[z], before[z])
		sort.Strings(removed)
		sort.Strings(added)
		if !slices.Equal(removed, gone) || !slices.Equal(added, came) {
			t.Errorf("zone %s: removed %q, added %q; want removed %q, added %q", z, removed, added, gone, came)
		}
	}
}

// longText is a TXT value longer than one character-string can hold.
var longText = strings.Repeat("0123456789abcdef", 20)

// richForeign is a zone full of records that are not ours, several of them
// at or beside the names we own, in forms that trip clients up.
func richForeign() []zoneSeed {
	dkim := "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 8)
	return []zoneSeed{
		{zoneCom, []string{
			"example.com. 3600 IN MX 10 mail.example.com.",
			"example.com. 3600 IN MX 20 backup.example.net.",
			`example.com. 3600 IN TXT "v=spf1 mx include:_spf.example.net -all"`,
			fmt.Sprintf(`dkim._domainkey.example.com. 3600 IN TXT "%s" "%s"`, dkim[:255], dkim[255:]),
			"mail.example.com. 3600 IN A 192.0.2.25",
			"mail.example.com. 3600 IN AAAA 2001:db8::25",
			"autoconfig.example.com. 3600 IN CNAME mail.example.com.",
			// a TXT at _mta-sts that is not an STS record: not ours
			`_mta-sts.example.com. 3600 IN TXT "owner=postmaster"`,
			// a TLSRPT record of a domain we do not manage
			`_smtp._tls.lists.example.com. 3600 IN TXT "v=TLSRPTv1; rua=mailto:other@example.net"`,
			fmt.Sprintf(`long.example.com. 3600 IN TXT "%s" "%s"`, longText[:255], longText[255:]),
		}},
		{zoneOrg, []string{
			"example.org. 3600 IN MX 10 mail.example.com.",
			`example.org. 3600 IN TXT "v=spf1 include:example.com -all"`,
			`example.org. 3600 IN TXT "google-site-verification=abc123"`,
			`quoted.example.org. 3600 IN TXT "say \"hi\" and \\ back"`,
			`_mta-sts.example.org. 3600 IN TXT "note=\"kept\" as is"`,
			`_smtp._tls.example.org. 3600 IN TXT "something else"`,
			"*.example.org. 3600 IN A 192.0.2.99",
		}},
	}
}

// Scenario 4: foreign records everywhere survive byte for byte.
func scenarioForeign(t *testing.T, pc providerCase) {
	tg := pc.setup(t, richForeign())
	text := tg.config(maxAge)
	id := policyID(t, text)
	before := dumps(t, tg)
	run, rep := planApply(t, tg, text)
	if rep.Err != nil {
		t.Fatalf("apply: %v\n%s", rep.Err, planText(run.Plan))
	}
	after := dumps(t, tg)
	for _, z := range suiteZones {
		sameZone(t, z, after[z], union(before[z], ours(t, z, id)))
	}
	_, rerun := plan(t, tg, text)
	nothingPending(t, rerun)
}

// Scenario 5: an A record where our CNAME goes is a conflict, left alone,
// and holds that domain's id back; the other domains are done.
func scenarioConflict(t *testing.T, pc providerCase) {
	seeds := baseForeign()
	seeds[1].records = append(seeds[1].records, "mta-sts.example.org. 3600 IN A 192.0.2.1")
	tg := pc.setup(t, seeds)
	text := tg.config(maxAge)
	id := policyID(t, text)
	before := dumps(t, tg)
	run, rep := planApply(t, tg, text)
	if rep.Err != nil {
		t.Fatalf("apply: the conflict must not be an apply error: %v", rep.Err)
	}
	// The CLI exits 1 on this.
	if s := run.Plan.Summary(); s.Conflict == 0 {
		t.Errorf("plan shows no conflict: %+v\n%s", s, planText(run.Plan))
	}
	found := false
	for _, zp := range run.Plan.Zones {
		for _, c := range zp.Changes {
			if c.Action == reconcile.Conflict {
				found = found || (c.Name == "mta-sts.example.org." && c.Type == "A")
			}
		}
	}
	if !found {
		t.Errorf("the conflict is not the A at mta-sts.example.org.\n%s", planText(run.Plan))
	}
	after := dumps(t, tg)
	sameZone(t, zoneCom, after[zoneCom], union(before[zoneCom], ours(t, zoneCom, id)))
	// Policy before pointer: the blocked policy host's id waits with it.
	blocked := canonical(t, []string{
		"mta-sts.example.org. 3600 IN CNAME " + policyHost + ".",
		`_mta-sts.example.org. 3600 IN TXT "v=STSv1; id=` + id + `"`,
	})
	sameZone(t, zoneOrg, after[zoneOrg], union(before[zoneOrg], minus(ours(t, zoneOrg, id), blocked)))
}

// Scenario: a mail domain below a delegation (NS) or a DNAME in its zone is
// an error of its own and nothing is written for it, since no sender would
// see it there; the zone's other domains are applied. DNAME only where the
// service has it (Cloudflare, Hetzner and Route53 do not).
func scenarioZoneCut(t *testing.T, pc providerCase) {
	seeds := baseForeign()
	seeds[0].records = append(seeds[0].records, "sub.example.com. 3600 IN NS ns.elsewhere.test.")
	want := map[string]string{"sub.example.com": "domain sub.example.com is delegated to ns.elsewhere.test.: its records belong in that zone, not in zone example.com"}
	switch pc.typ {
	case "zonefile", "rfc2136", "desec":
		seeds[0].records = append(seeds[0].records, "dn.example.com. 3600 IN DNAME other.test.")
		want["dn.example.com"] = "domain dn.example.com: the DNAME at dn.example.com. (to other.test.) answers for every name below it"
	}
	tg := pc.setup(t, seeds)
	var cut []string
	for d := range want {
		cut = append(cut, d)
	}
	sort.Strings(cut)
	text := strings.Replace(tg.config(maxAge), "domains: [example.com, eu.example.com, example.org]",
		"domains: [example.com, eu.example.com, example.org, "+strings.Join(cut, ", ")+"]", 1)
	id := policyID(t, text)
	before := dumps(t, tg)
	run, rep := planApply(t, tg, text)
	for _, d := range cut {
		found := false
		for _, zp := range run.Plan.Zones {
			found = found || (zp.Err != nil && slices.Equal(zp.Domains, []string{d}) && strings.Contains(zp.Err.Error(), want[d]))
		}
		if !found {
			t.Errorf("the plan has no error of %s alone saying %q:\n%s", d, want[d], planText(run.Plan))
		}
		if rep.Err == nil || !strings.Contains(rep.Err.Error(), want[d]) {
			t.Errorf("apply error %v does not report %s", rep.Err, d)
		}
	}
	after := dumps(t, tg)
	sameZone(t, zoneCom, after[zoneCom], union(before[zoneCom], ours(t, zoneCom, id)))
	sameZone(t, zoneOrg, after[zoneOrg], union(before[zoneOrg], ours(t, zoneOrg, id)))
}

// fault is one way an API fails.
type fault struct {
	name string
	make func(tg *target) fakeapi.Fault
}

var faults = []fault{
	{"429-retry-after", func(tg *target) fakeapi.Fault {
		return fakeapi.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1", Body: tg.throttledBody, ContentType: tg.throttledType}
	}},
	{"500", func(*target) fakeapi.Fault {
		return fakeapi.Fault{Status: http.StatusInternalServerError, Body: "internal error", ContentType: "text/plain"}
	}},
	{"hang", func(*target) fakeapi.Fault { return fakeapi.Fault{Hang: true} }},
	{"html-502", func(*target) fakeapi.Fault {
		return fakeapi.Fault{Status: http.StatusBadGateway, ContentType: "text/html",
			Body: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>"}
	}},
}

// Scenario 6: one zone's API failures fail that zone only, with an error
// naming zone and provider; nothing foreign changes; a clean rerun
// converges without duplicates.
func scenarioFailures(t *testing.T, pc providerCase) {
	switch pc.typ {
	case "rfc2136":
		failuresBadKey(t, pc)
		return
	case "zonefile":
		failuresBrokenFile(t, pc)
		return
	}
	for _, f := range faults {
		if testing.Short() && f.name != "500" {
			continue // the others wait out the call timeout
		}
		for _, phase := range []string{"read", "write"} {
			t.Run(f.name+"/"+phase, func(t *testing.T) {
				tg := pc.setup(t, richForeign())
				text := tg.config(maxAge)
				id := policyID(t, text)
				before := dumps(t, tg)
				ft := f.make(tg)
				ft.Match = func(r *http.Request) bool {
					hit := tg.records(r, zoneOrg) && (r.Method == http.MethodGet) == (phase == "read")
					if hit && ft.Hang && r.Body != nil {
						// The server notices the client giving up only
						// once the body is read; unread, the handler (and
						// the fake's Close) would wait forever.
						_, _ = io.Copy(io.Discard, r.Body)
					}
					return hit
				}
				tg.mw.AddFault(ft)
				_, rep := planApply(t, tg, text)
				tg.mw.ClearFaults()
				checkZoneFailed(t, rep, zoneOrg, tg.block.name)
				after := dumps(t, tg)
				sameZone(t, zoneCom, after[zoneCom], union(before[zoneCom], ours(t, zoneCom, id)))
				partial(t, zoneOrg, after[zoneOrg], before[zoneOrg], ours(t, zoneOrg, id))

				converge(t, tg, text)
				after = dumps(t, tg)
				for _, z := range suiteZones {
					sameZone(t, z, after[z], union(before[z], ours(t, z, id)))
				}
				_, rerun := plan(t, tg, text)
				nothingPending(t, rerun)
			})
		}
	}
}

// checkZoneFailed fails unless the run's error names the zone and the
// provider, and no other zone.
func checkZoneFailed(t *testing.T, rep engine.Report, zone, provider string) {
	t.Helper()
	if rep.Err == nil {
		t.Fatalf("apply succeeded; zone %s should have failed", zone)
	}
	msg := rep.Err.Error()
	t.Logf("error: %s", msg)
	if !strings.Contains(msg, "zone "+zone) || !strings.Contains(msg, "provider "+provider) {
		t.Errorf("error does not name zone %s and provider %s: %s", zone, provider, msg)
	}
	for _, z := range suiteZones {
		if z != zone && strings.Contains(msg, "zone "+z) {
			t.Errorf("error names zone %s too: %s", z, msg)
		}
	}
	var failed []string
	for _, r := range rep.Results {
		if r.Err != nil {
			failed = append(failed, r.Zone)
		}
	}
	if len(failed) > 0 && !slices.Equal(failed, []string{zone}) {
		t.Errorf("zones failed in apply: %v; want only %s", failed, zone)
	}
}

// partial fails unless a failed zone still holds every record it had and
// nothing but those and (some of) ours.
func partial(t *testing.T, zone string, got, before, ours []string) {
	t.Helper()
	if lost := minus(before, got); len(lost) > 0 {
		t.Errorf("zone %s lost records: %q", zone, lost)
	}
	if extra := minus(minus(got, before), ours); len(extra) > 0 {
		t.Errorf("zone %s gained records that are not ours: %q", zone, extra)
	}
}

// failuresBadKey: BIND cannot be made to stop answering, so one zone is
// configured with a TSIG key the server does not know.
func failuresBadKey(t *testing.T, pc providerCase) {
	tg := pc.setup(t, richForeign())
	good := tg.config(maxAge)
	id := policyID(t, good)
	bad := suiteConfig(maxAge, []providerBlock{tg.block, bindBlock("bindbad", tg.bind, randomSecret(t))},
		map[string]string{zoneOrg: "bindbad"})
	before := dumps(t, tg)
	_, rep := planApply(t, tg, bad)
	checkZoneFailed(t, rep, zoneOrg, "bindbad")
	if want := "not authoritative for zone example.org, or the TSIG key is wrong"; rep.Err != nil && !strings.Contains(rep.Err.Error(), want) {
		t.Errorf("error does not explain itself (%q): %v", want, rep.Err)
	}
	after := dumps(t, tg)
	sameZone(t, zoneCom, after[zoneCom], union(before[zoneCom], ours(t, zoneCom, id)))
	sameZone(t, zoneOrg, after[zoneOrg], before[zoneOrg])

	converge(t, tg, good)
	after = dumps(t, tg)
	for _, z := range suiteZones {
		sameZone(t, z, after[z], union(before[z], ours(t, z, id)))
	}
}

// failuresBrokenFile: a zone file that does not parse fails its zone, at
// read time and (broken between plan and apply) at write time.
func failuresBrokenFile(t *testing.T, pc providerCase) {
	for _, phase := range []string{"read", "write"} {
		t.Run(phase, func(t *testing.T) {
			tg := pc.setup(t, richForeign())
			text := tg.config(maxAge)
			id := policyID(t, text)
			before := dumps(t, tg)
			path := filepath.Join(tg.dir, zoneOrg+".zone")
			good, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			breakFile := func() {
				if err := os.WriteFile(path, append(append([]byte(nil), good...), "broken IN A not-an-address\n"...), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if phase == "read" {
				breakFile()
			}
			eng, run := plan(t, tg, text)
			if phase == "write" {
				breakFile()
			}
			rep := eng.Apply(withTimeout(t), run)
			checkZoneFailed(t, rep, zoneOrg, tg.block.name)
			if err := os.WriteFile(path, good, 0o644); err != nil {
				t.Fatal(err)
			}
			after := dumps(t, tg)
			sameZone(t, zoneCom, after[zoneCom], union(before[zoneCom], ours(t, zoneCom, id)))
			sameZone(t, zoneOrg, after[zoneOrg], before[zoneOrg])

			converge(t, tg, text)
			after = dumps(t, tg)
			for _, z := range suiteZones {
				sameZone(t, z, after[z], union(before[z], ours(t, z, id)))
			}
		})
	}
}

// Scenario 7: records already right in legacy spellings (mailcow's
// `v=STSv1;id=X;`, upper-case names, Cloudflare's unquoted TXT) are in
// sync: no write, no flapping.
func scenarioLegacy(t *testing.T, pc providerCase) {
	id := policyID(t, suiteConfig(maxAge, []providerBlock{{name: "x", typ: "zonefile", settings: []setting{{"directory", "."}}}}, nil))
	seeds := baseForeign()
	seeds[0].records = append(seeds[0].records,
		"MTA-STS.Example.COM. 3600 IN CNAME MAIL.EXAMPLE.COM.",
		fmt.Sprintf(`_MTA-STS.EXAMPLE.COM. 3600 IN TXT "v=STSv1;id=%s;"`, id),
		fmt.Sprintf(`_SMTP._TLS.Example.Com. 3600 IN TXT "v=TLSRPTv1;rua=%s;"`, tlsrptRUA),
		"mta-sts.EU.example.com. 3600 IN CNAME mail.example.com.",
		fmt.Sprintf(`_mta-sts.EU.example.com. 3600 IN TXT "v=STSv1; id=%s"`, id),
		fmt.Sprintf(`_smtp._tls.EU.example.com. 3600 IN TXT "v=TLSRPTv1; rua=%s"`, tlsrptRUA),
	)
	seeds[1].records = append(seeds[1].records, "mta-sts.example.org. 3600 IN CNAME mail.example.com.")
	orgTXT := [][2]string{
		{"_mta-sts.example.org.", fmt.Sprintf("v=STSv1; id=%s", id)},
		{"_smtp._tls.example.org.", fmt.Sprintf("v=TLSRPTv1;rua=%s", tlsrptRUA)},
	}
	if pc.typ != "cloudflare" {
		for _, r := range orgTXT {
			seeds[1].records = append(seeds[1].records, fmt.Sprintf("%s 3600 IN TXT %q", r[0], r[1]))
		}
	}
	tg := pc.setup(t, seeds)
	if pc.typ == "cloudflare" {
		// Written by older clients and by hand in the dashboard: no quotes.
		for _, r := range orgTXT {
			if err := tg.raw(zoneOrg, r[0], "TXT", r[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	text := tg.config(maxAge)
	before := dumps(t, tg)
	writes := watchWrites(t, tg)
	run, rep := planApply(t, tg, text)
	if rep.Err != nil {
		t.Fatalf("apply: %v", rep.Err)
	}
	nothingPending(t, run)
	if w := writes(); w != "" {
		t.Errorf("legacy forms were rewritten: %s", w)
	}
	after := dumps(t, tg)
	for _, z := range suiteZones {
		sameZone(t, z, after[z], before[z])
	}
}
