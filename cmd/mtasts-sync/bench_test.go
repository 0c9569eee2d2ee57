package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/engine"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/cloudflarefake"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/fakedns"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/hetznerfake"
)

// The scale harness runs the real CLI (`apply --output json`, in-process)
// against the Cloudflare and Hetzner fakes with a per-request latency and an
// enforced rate limit, for a thousand mail domains, and prints what each run
// cost against the least it could have cost. Settings come from the
// environment (defaults in benchDefaults):
//
//	MTASTS_BENCH_LATENCY=50ms          added to every API request by the fake
//	MTASTS_BENCH_RATE=200              requests/s the fake enforces (429 above)
//	MTASTS_BENCH_CLIENT_RATE=180       the config's rate_limit (default: 90 % of the fake's)
//	MTASTS_BENCH_CONCURRENCY=16        zones per account worked on at once
//	MTASTS_BENCH_PROVIDERS=cloudflare,hetzner
//	MTASTS_BENCH_SHAPES=100x10,1000x1  zones x domains per zone
//	MTASTS_BENCH_LAYOUTS=direct,delegated
//
// The config's rate_limit is the fake's limit less rateMargin, its burst a
// tenth of a second's worth, so a correct client is never throttled. Set
// MTASTS_BENCH_CLIENT_RATE above the fake's limit to measure how a run
// copes with a config that promises more than the service allows: the
// lower bound is then the fake's own limit.

const (
	benchToken = "bench-token"
	// foreignPerZone records of other kinds sit in every zone and must
	// survive every run unchanged.
	foreignPerZone = 50
	rateMargin     = 0.9
)

type benchSettings struct {
	latency     time.Duration
	fakeRate    float64 // enforced by the fake
	configRate  float64 // the config's rate_limit; 0: fakeRate less rateMargin
	concurrency int
	providers   []string
	shapes      []benchShape
	layouts     []string
}

type benchShape struct{ zones, perZone int }

func (s benchShape) String() string { return fmt.Sprintf("%d zones × %d", s.zones, s.perZone) }

// clientRate is the config's rate_limit: by default the fake's limit less a
// margin.
func (s benchSettings) clientRate() float64 {
	if s.configRate > 0 {
		return s.configRate
	}
	return math.Floor(s.fakeRate * rateMargin)
}

func (s benchSettings) clientBurst() int { return max(1, int(s.clientRate()/10)) }

// fakeBurst is the burst the fake allows above its rate.
func (s benchSettings) fakeBurst() int { return max(1, int(s.fakeRate/5)) }

func benchDefaults(t testing.TB) benchSettings {
	s := benchSettings{
		latency:     50 * time.Millisecond,
		fakeRate:    200,
		concurrency: 16,
		providers:   []string{"cloudflare", "hetzner"},
		shapes:      []benchShape{{100, 10}, {1000, 1}},
		layouts:     []string{"direct", "delegated"},
	}
	if v := os.Getenv("MTASTS_BENCH_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			t.Fatalf("MTASTS_BENCH_LATENCY=%q: want a duration such as 50ms", v)
		}
		s.latency = d
	}
	if v := os.Getenv("MTASTS_BENCH_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 2 {
			t.Fatalf("MTASTS_BENCH_RATE=%q: want requests per second, at least 2", v)
		}
		s.fakeRate = r
	}
	if v := os.Getenv("MTASTS_BENCH_CLIENT_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 1 {
			t.Fatalf("MTASTS_BENCH_CLIENT_RATE=%q: want requests per second, at least 1", v)
		}
		s.configRate = r
	}
	if v := os.Getenv("MTASTS_BENCH_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("MTASTS_BENCH_CONCURRENCY=%q: want a whole number of at least 1", v)
		}
		s.concurrency = n
	}
	if v := os.Getenv("MTASTS_BENCH_PROVIDERS"); v != "" {
		s.providers = strings.Split(v, ",")
		for _, p := range s.providers {
			if p != "cloudflare" && p != "hetzner" {
				t.Fatalf("MTASTS_BENCH_PROVIDERS: %q is not cloudflare or hetzner", p)
			}
		}
	}
	if v := os.Getenv("MTASTS_BENCH_SHAPES"); v != "" {
		s.shapes = nil
		for _, f := range strings.Split(v, ",") {
			a, b, ok := strings.Cut(f, "x")
			z, err1 := strconv.Atoi(a)
			d, err2 := strconv.Atoi(b)
			if !ok || err1 != nil || err2 != nil || z < 1 || d < 1 {
				t.Fatalf("MTASTS_BENCH_SHAPES: %q is not ZONESxDOMAINS, e.g. 100x10", f)
			}
			s.shapes = append(s.shapes, benchShape{z, d})
		}
	}
	if v := os.Getenv("MTASTS_BENCH_LAYOUTS"); v != "" {
		s.layouts = strings.Split(v, ",")
		for _, l := range s.layouts {
			if l != "direct" && l != "delegated" {
				t.Fatalf("MTASTS_BENCH_LAYOUTS: %q is not direct or delegated", l)
			}
		}
	}
	return s
}

// benchZones names the zones and their mail domains: the apex of each zone
// is a mail domain, the others are subdomains of it.
func benchZones(shape benchShape) (zones []string, domains map[string][]string) {
	domains = map[string][]string{}
	for i := range shape.zones {
		z := fmt.Sprintf("z%04d.bench-%d.test", i, shape.zones)
		zones = append(zones, z)
		domains[z] = append(domains[z], z)
		for j := 1; j < shape.perZone; j++ {
			domains[z] = append(domains[z], fmt.Sprintf("m%02d.%s", j, z))
		}
	}
	return zones, domains
}

// foreignRecords are 50 records of kinds a mail domain's zone holds: A,
// AAAA, MX, SPF and verification TXT, DKIM TXT, CNAMEs.
func foreignRecords(zone string, n int) []string {
	out := []string{
		fmt.Sprintf("%s. 300 IN MX 10 mx1.%s.", zone, zone),
		fmt.Sprintf("%s. 300 IN MX 20 mx2.%s.", zone, zone),
		fmt.Sprintf(`%s. 300 IN TXT "v=spf1 mx ip4:192.0.2.0/24 -all"`, zone),
		fmt.Sprintf(`%s. 300 IN TXT "google-site-verification=%x"`, zone, n),
	}
	for i := range 10 {
		out = append(out,
			fmt.Sprintf("host%d.%s. 300 IN A 192.0.2.%d", i, zone, i+1),
			fmt.Sprintf("host%d.%s. 300 IN AAAA 2001:db8::%x", i, zone, i+1),
			fmt.Sprintf("alias%d.%s. 300 IN CNAME host%d.%s.", i, zone, i, zone))
	}
	for i := range foreignPerZone - len(out) {
		out = append(out, fmt.Sprintf(`sel%d._domainkey.%s. 300 IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC%04d"`, i, zone, i))
	}
	return out
}

// benchFake is one provider fake and how to read its pages.
type benchFake struct {
	name   string // provider type, also the config's provider name
	fake   fakeapi.Fake
	trans  http.RoundTripper // for env.transport; nil: DefaultTransport is swapped
	pages  func(dump []string) int
	throtl *atomic.Int64
}

func startFake(t testing.TB, typ string, s benchSettings) *benchFake {
	t.Helper()
	opts := fakeapi.Options{Latency: s.latency, RateLimit: s.fakeRate, Burst: s.fakeBurst()}
	bf := &benchFake{name: typ, throtl: &atomic.Int64{}}
	switch typ {
	case "cloudflare":
		f := cloudflarefake.New(benchToken, opts)
		bf.fake, bf.trans = f, f.Transport()
		// dns_records pages of 100 records; the listing holds no SOA or NS.
		bf.pages = func(dump []string) int { return max(1, ceilDiv(len(dump), 100)) }
	case "hetzner":
		f := hetznerfake.New(benchToken, opts)
		bf.fake = f
		t.Cleanup(f.UseAsDefaultTransport())
		// rrsets pages of 50 RRsets, the apex SOA and NS included.
		bf.pages = func(dump []string) int { return max(1, ceilDiv(rrsets(dump), 50)) }
	}
	t.Cleanup(bf.fake.Close)
	mw := bf.fake.Middleware()
	throttled := mw.Throttled
	mw.Throttled = func(w http.ResponseWriter) { bf.throtl.Add(1); throttled(w) }
	return bf
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// rrsets counts the distinct name/type pairs of a dump.
func rrsets(dump []string) int {
	seen := map[string]bool{}
	for _, line := range dump {
		f := strings.Fields(line)
		if len(f) >= 4 {
			seen[strings.ToLower(f[0])+" "+f[3]] = true
		}
	}
	return len(seen)
}

// ours reports whether a dump line is at one of the names we own.
func oursLine(line string) bool {
	for _, p := range []string{"mta-sts.", "_mta-sts.", "_smtp._tls."} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func foreignOnly(dump []string) []string {
	return slices.DeleteFunc(slices.Clone(dump), oursLine)
}

// benchConfig writes the config for the layout and max_age.
func benchConfig(t testing.TB, dir string, s benchSettings, bf *benchFake, layout string, zones []string, domains map[string][]string, maxAge int) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "policy:\n  mode: enforce\n  max_age: %d\n  mx: [mail.example.com]\n", maxAge)
	b.WriteString("policy_host: mail.example.com\ntlsrpt:\n  rua: [mailto:tls-reports@example.com]\n")
	fmt.Fprintf(&b, "layout: %s\n", layout)
	if layout == "delegated" {
		fmt.Fprintf(&b, "primary: %s\n", zones[0])
	}
	b.WriteString("ttl: 3600\npublish_gate: false\ndomains:\n")
	for _, z := range zones {
		for _, d := range domains[z] {
			fmt.Fprintf(&b, "  - %s\n", d)
		}
	}
	fmt.Fprintf(&b, "providers:\n  %s:\n    type: %s\n    api_token: %s\n", bf.name, bf.name, benchToken)
	fmt.Fprintf(&b, "    rate_limit: \"%g/s\"\n    burst: %d\n    concurrency: %d\n", s.clientRate(), s.clientBurst(), s.concurrency)
	b.WriteString("zones:\n")
	for _, z := range zones {
		fmt.Fprintf(&b, "  %s: %s\n", z, bf.name)
	}
	path := filepath.Join(dir, "mtasts-sync.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// applyDoc is the part of `apply --output json` the harness reads.
type applyDoc struct {
	Summary struct {
		Create, Update, Delete, Conflict, Withheld, Errors int
		InSync                                             int `json:"in_sync"`
	} `json:"summary"`
	Results []struct {
		Zone    string            `json:"zone"`
		Applied []json.RawMessage `json:"applied"`
		Error   string            `json:"error"`
	} `json:"results"`
	Run   engine.Summary `json:"run"`
	Error string         `json:"error"`
}

func (d applyDoc) changes() int {
	s := d.Summary
	return s.Create + s.Update + s.Delete + s.Conflict + s.Withheld
}

// benchRow is one measured run.
type benchRow struct {
	provider, shape, layout, kase string
	requests, minimum             int
	byKind                        string
	throttled, retries            int
	rrsets, zonesWritten          int
	wall, lowerMin, lowerActual   time.Duration
}

func (r benchRow) markdown() string {
	ratio := "—"
	if r.minimum > 0 {
		ratio = fmt.Sprintf("%.2f", float64(r.requests)/float64(r.minimum))
	} else if r.requests == 0 {
		ratio = "0 = 0"
	}
	wallRatio := "—"
	if r.lowerMin > 0 {
		wallRatio = fmt.Sprintf("%.2f", r.wall.Seconds()/r.lowerMin.Seconds())
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %d | %d | %s | %s | %d | %d | %d/%d | %s | %s | %s | %s |",
		r.provider, r.shape, r.layout, r.kase, r.requests, r.minimum, ratio, r.byKind, r.throttled, r.retries,
		r.rrsets, r.zonesWritten, r.wall.Round(10*time.Millisecond), r.lowerMin.Round(10*time.Millisecond),
		wallRatio, r.lowerActual.Round(10*time.Millisecond))
}

const benchHeader = "| provider | shape | layout | case | requests | minimum | req/min | by kind | 429s | retries | RRsets/zones written | wall | lower bound (min) | wall/bound | bound (actual req) |\n" +
	"| --- | --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"

// lowerBound is the least wall time n requests can take: each takes the
// latency and at most concurrency run at once, and the rate limit spaces
// them once the burst is spent: the config's limit, or the fake's where
// that is lower.
func lowerBound(s benchSettings, n int) time.Duration {
	if n == 0 {
		return 0
	}
	rate, burst := s.clientRate(), s.clientBurst()
	if s.fakeRate < rate {
		rate, burst = s.fakeRate, s.fakeBurst()
	}
	byLatency := s.latency * time.Duration(ceilDiv(n, s.concurrency))
	byRate := time.Duration(float64(max(0, n-burst)) / rate * float64(time.Second))
	return max(byLatency, byRate)
}

// BenchmarkScaleHarness measures whole CLI runs at scale; see the comment
// at the top of this file. One pass takes minutes, so run it once:
// go test ./cmd/mtasts-sync -run '^$' -bench ScaleHarness -benchtime 1x
func BenchmarkScaleHarness(b *testing.B) {
	t := b
	s := benchDefaults(t)
	t.Logf("latency %s, fake rate limit %g/s (burst %d), config rate_limit %g/s burst %d, concurrency %d",
		s.latency, s.fakeRate, s.fakeBurst(), s.clientRate(), s.clientBurst(), s.concurrency)
	var rows []benchRow
	for _, typ := range s.providers {
		for _, shape := range s.shapes {
			for _, layout := range s.layouts {
				t.Run(fmt.Sprintf("%s/%dx%d/%s", typ, shape.zones, shape.perZone, layout), func(t *testing.B) {
					rows = append(rows, runScenario(t, s, typ, shape, layout)...)
				})
			}
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\nlatency %s per request, fake limit %g req/s, rate_limit %g/s burst %d, concurrency %d, %d foreign records per zone\n\n",
		s.latency, s.fakeRate, s.clientRate(), s.clientBurst(), s.concurrency, foreignPerZone)
	out.WriteString(benchHeader + "\n")
	for _, r := range rows {
		out.WriteString(r.markdown() + "\n")
	}
	t.Log(out.String())
	fmt.Println(out.String())
}

// runScenario seeds fresh fakes and runs the four cases in order.
func runScenario(t testing.TB, s benchSettings, typ string, shape benchShape, layout string) []benchRow {
	bf := startFake(t, typ, s)
	zones, domains := benchZones(shape)
	for _, z := range zones {
		if err := bf.fake.Seed(z, foreignRecords(z, len(domains[z]))...); err != nil {
			t.Fatal(err)
		}
	}
	before := map[string][]string{}
	for _, z := range zones {
		before[z] = bf.fake.Dump(z)
	}
	fakeZones := map[string]fakeapi.Fake{}
	for _, z := range zones {
		fakeZones[z] = bf.fake
	}
	ns, err := fakedns.Start(fakeZones)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()

	dir := t.TempDir()
	cfg := benchConfig(t, dir, s, bf, layout, zones, domains, 604800)
	var rows []benchRow
	measure := func(kase string, args ...string) applyDoc {
		t.Helper()
		dumps := map[string][]string{}
		for _, z := range zones {
			dumps[z] = bf.fake.Dump(z)
		}
		bf.fake.Middleware().ResetCounts()
		bf.throtl.Store(0)
		ns.Invalidate()
		var out, errOut bytes.Buffer
		e := env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }, transport: bf.trans}
		start := time.Now()
		code := run(context.Background(), append([]string{"mtasts-sync", "apply", "--config", cfg, "--output", "json"}, args...), e)
		wall := time.Since(start)
		if code != exitOK {
			t.Fatalf("%s: exit %d\nstderr: %s\nstdout: %.2000s", kase, code, errOut.String(), out.String())
		}
		var doc applyDoc
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("%s: output is not JSON: %v\n%.2000s", kase, err, out.String())
		}
		if doc.Error != "" || doc.Summary.Errors > 0 {
			t.Fatalf("%s: %s (%d errors)", kase, doc.Error, doc.Summary.Errors)
		}
		row := benchRow{provider: typ, shape: shape.String(), layout: layout, kase: kase, wall: wall,
			requests: bf.fake.Middleware().Total(), byKind: kinds(bf.fake.Middleware().Counts()), throttled: int(bf.throtl.Load())}
		for _, st := range doc.Run.API {
			row.retries += st.Retries
		}
		row.minimum = minimumRequests(bf, zones, dumps, doc, &row)
		row.lowerMin = lowerBound(s, row.minimum)
		row.lowerActual = lowerBound(s, row.requests)
		rows = append(rows, row)
		t.Logf("%s: %d requests (minimum %d), %s", kase, row.requests, row.minimum, wall.Round(time.Millisecond))
		return doc
	}

	first := measure("first run", "--no-dns-shortcut")
	if n := first.Summary.Create; n < len(zones) {
		t.Errorf("first run created %d records, want one per name we own", n)
	}
	if noop := measure("no-op", "--no-dns-shortcut"); noop.changes() != 0 {
		t.Errorf("no-op rerun planned %d changes, want none", noop.changes())
	}
	cfg = benchConfig(t, dir, s, bf, layout, zones, domains, 1209600)
	edit := measure("max_age edit", "--no-dns-shortcut")
	wantUpdates := 1
	if layout == "direct" {
		wantUpdates = shape.zones * shape.perZone
	}
	if edit.Summary.Update != wantUpdates || edit.changes() != wantUpdates {
		t.Errorf("max_age edit planned %d updates (%d changes), want %d", edit.Summary.Update, edit.changes(), wantUpdates)
	}
	short := measure("no-op, DNS shortcut", "--resolver", ns.Addr())
	if short.changes() != 0 {
		t.Errorf("no-op rerun with the DNS shortcut planned %d changes, want none", short.changes())
	}
	if short.Run.ZonesByDNS != len(zones) {
		t.Errorf("DNS shortcut confirmed %d of %d zones", short.Run.ZonesByDNS, len(zones))
	}

	for _, z := range zones {
		after := bf.fake.Dump(z)
		if d := diffLines(foreignOnly(before[z]), foreignOnly(after)); d != "" {
			t.Errorf("zone %s: foreign records changed:\n%s", z, d)
		}
		if got, want := len(after)-len(foreignOnly(after)), 3*len(domains[z]); got != want {
			t.Errorf("zone %s: %d records at our names, want %d", z, got, want)
		}
	}
	return rows
}

// minimumRequests is the least a provider's API needs for the run doc
// describes: every zone read through the API costs a zone lookup plus its
// pages, as the zone stood before the run (dumps); every RRset changed costs
// one request (the record ids are known from the read); every zone written
// is read back once to verify, costing its pages after the run (the lookup
// is known by then). Zones confirmed by DNS cost nothing. It also fills the
// row's RRsets and zones written.
func minimumRequests(bf *benchFake, zones []string, dumps map[string][]string, doc applyDoc, row *benchRow) int {
	if doc.Run.ZonesByDNS == len(zones) {
		return 0
	}
	n := 0
	for _, z := range zones {
		n += 1 + bf.pages(dumps[z])
	}
	for _, r := range doc.Results {
		if len(r.Applied) == 0 {
			continue
		}
		row.rrsets += len(r.Applied)
		row.zonesWritten++
		n += len(r.Applied) + bf.pages(bf.fake.Dump(r.Zone))
	}
	return n
}

// kinds renders the fake's counters compactly, e.g. "GET read 200, POST write 3000".
func kinds(c map[string]int) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

func diffLines(a, b []string) string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// BenchmarkApplyNoopCloudflare100Zones runs a no-op `apply` over 1,000
// domains in 100 Cloudflare zones with no latency and no rate limit: the
// CPU cost of one cron run when nothing changed, reading every zone.
func BenchmarkApplyNoopCloudflare100Zones(b *testing.B) {
	benchApplyNoop(b, false)
}

// BenchmarkApplyNoopCloudflare100ZonesDNS is the same run answered by the
// DNS shortcut: no API request at all.
func BenchmarkApplyNoopCloudflare100ZonesDNS(b *testing.B) {
	benchApplyNoop(b, true)
}

func benchApplyNoop(b *testing.B, shortcut bool) {
	s := benchSettings{fakeRate: 1e6, concurrency: 16}
	f := cloudflarefake.New(benchToken, fakeapi.Options{})
	defer f.Close()
	bf := &benchFake{name: "cloudflare", fake: f, trans: f.Transport()}
	zones, domains := benchZones(benchShape{100, 10})
	fakeZones := map[string]fakeapi.Fake{}
	for _, z := range zones {
		if err := f.Seed(z, foreignRecords(z, len(domains[z]))...); err != nil {
			b.Fatal(err)
		}
		fakeZones[z] = f
	}
	ns, err := fakedns.Start(fakeZones)
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Close()
	dir := b.TempDir()
	cfg := benchConfig(b, dir, s, bf, "direct", zones, domains, 604800)
	apply := func(args ...string) {
		var out, errOut bytes.Buffer
		e := env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }, transport: bf.trans}
		if code := run(context.Background(), append([]string{"mtasts-sync", "apply", "--config", cfg, "--quiet"}, args...), e); code != exitOK {
			b.Fatalf("exit %d: %s", code, errOut.String())
		}
	}
	apply("--no-dns-shortcut") // bring the zones in sync
	args := []string{"--no-dns-shortcut"}
	if shortcut {
		args = []string{"--resolver", ns.Addr()}
	}
	f.Middleware().ResetCounts()
	b.ReportAllocs()
	for b.Loop() {
		apply(args...)
	}
	b.ReportMetric(float64(f.Middleware().Total())/float64(b.N), "requests/op")
}
