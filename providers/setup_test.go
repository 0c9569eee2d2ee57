package providers_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/cloudflarefake"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/desecfake"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/hetznerfake"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/route53fake"
	"github.com/mtasts-sync/mtasts-sync/internal/testbind"
	"github.com/mtasts-sync/mtasts-sync/providers"
)

// callTimeout bounds every client call in the suite: long for loopback,
// short enough that a hanging or endlessly retrying API fails its zone fast.
const callTimeout = 2500 * time.Millisecond

// zoneSeed is one zone to create and the records it starts with, in
// presentation format with absolute names.
type zoneSeed struct {
	name    string
	records []string
}

// setting is one provider setting, in the order it is written to the YAML.
type setting struct{ key, value string }

// providerBlock is one entry under providers: in the config.
type providerBlock struct {
	name, typ string
	settings  []setting
	// fast lifts the request budget of a rate-limited API: the built-in
	// one (a few requests a second) would make the suite wait, not test.
	fast bool
}

func (b providerBlock) yaml() string {
	var s strings.Builder
	fmt.Fprintf(&s, "  %s:\n    type: %s\n", b.name, b.typ)
	if b.fast {
		s.WriteString("    rate_limit: 1000/s\n    change_rate_limit: 1000/s\n    burst: 1000\n")
	}
	for _, kv := range b.settings {
		fmt.Fprintf(&s, "    %s: %s\n", kv.key, strconv.Quote(kv.value))
	}
	return s.String()
}

// target is one provider set up for one scenario: the service (fake or
// real) holding the zones, and what the suite needs to drive and watch it.
type target struct {
	block providerBlock
	opts  providers.Options
	// mw counts and faults the HTTP requests; nil for zonefile and rfc2136.
	mw *fakeapi.Middleware
	// records reports whether an HTTP request reads or writes the records
	// of zone (by name or by the service's zone id), zone lookups left
	// out; nil without mw.
	records func(r *http.Request, zone string) bool
	// dump returns the zone as canonical presentation lines, sorted, SOA
	// serial zeroed where the service bumps it.
	dump func(t *testing.T, zone string) []string
	// unchanged, when set, reports whether a zone is byte for byte (or, for
	// BIND, serial for serial) what it was when snapshot was called.
	snapshot func(t *testing.T, zone string) (unchanged func() bool)
	// raw stores a record exactly as given, bypassing the service's checks
	// (legacy forms); nil where the service has none.
	raw func(zone, name, typ, content string) error
	// throttledBody (of type throttledType, default JSON) is what the
	// service sends when it throttles.
	throttledBody, throttledType string
	// bind is the real BIND server for rfc2136.
	bind *testbind.Server
	// dir is the zone directory for zonefile.
	dir string
}

// setupFunc starts a provider's service holding zones.
type setupFunc func(t *testing.T, zones []zoneSeed) *target

// providerCase is one provider of the suite.
type providerCase struct {
	typ   string
	setup setupFunc
}

// providerCases lists every provider the suite runs on.
func providerCases() []providerCase {
	return []providerCase{
		{"cloudflare", setupCloudflare},
		{"hetzner", setupHetzner},
		{"route53", setupRoute53},
		{"desec", setupDesec},
		{"zonefile", setupZonefile},
		{"rfc2136", setupRFC2136},
	}
}

func setupCloudflare(t *testing.T, zones []zoneSeed) *target {
	const token = "cf-test-token"
	fake := cloudflarefake.New(token, fakeapi.Options{})
	t.Cleanup(fake.Close)
	seedFake(t, fake, zones)
	return &target{
		block: providerBlock{name: "cf", typ: "cloudflare", settings: []setting{{"api_token", token}}, fast: true},
		opts:  providers.Options{Transport: fake.Transport(), CallTimeout: callTimeout},
		mw:    fake.Middleware(),
		records: func(r *http.Request, zone string) bool {
			return strings.Contains(r.URL.Path, "/zones/"+fake.ZoneID(zone)+"/")
		},
		dump: func(t *testing.T, zone string) []string { return canonical(t, fake.Dump(zone)) },
		raw: func(zone, name, typ, content string) error {
			return fake.SeedRaw(zone, name, typ, content, 3600)
		},
		throttledBody: cloudflarefake.ThrottledBody,
	}
}

func setupHetzner(t *testing.T, zones []zoneSeed) *target {
	const token = "hz-test-token"
	fake := hetznerfake.New(token, fakeapi.Options{})
	t.Cleanup(fake.Close)
	// The client's base URL is fixed and its http.Client has no transport.
	t.Cleanup(fake.UseAsDefaultTransport())
	seedFake(t, fake, zones)
	ids := map[string]string{}
	for _, z := range zones {
		ids[z.name] = hetznerZoneID(t, fake.URL(), token, z.name)
	}
	fake.Middleware().ResetCounts()
	return &target{
		block: providerBlock{name: "hz", typ: "hetzner", settings: []setting{{"api_token", token}}, fast: true},
		opts:  providers.Options{CallTimeout: callTimeout},
		mw:    fake.Middleware(),
		records: func(r *http.Request, zone string) bool {
			p := r.URL.Path
			return strings.Contains(p, "/zones/"+zone+"/") || strings.Contains(p, "/zones/"+ids[zone]+"/")
		},
		dump:          func(t *testing.T, zone string) []string { return canonical(t, fake.Dump(zone)) },
		throttledBody: hetznerfake.ThrottledBody,
	}
}

// hetznerZoneID asks the fake for the id of zone: the client reads RRsets
// by zone id, so a fault on the zone must match the id as well as the name.
func hetznerZoneID(t *testing.T, base, token, zone string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/zones/"+zone, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("zone %s: asking the hetzner fake for its id: %v", zone, err)
	}
	defer resp.Body.Close()
	var body struct {
		Zone struct {
			ID int64 `json:"id"`
		} `json:"zone"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Zone.ID == 0 {
		t.Fatalf("zone %s: hetzner fake answered %s: %v", zone, resp.Status, err)
	}
	return strconv.FormatInt(body.Zone.ID, 10)
}

func setupZonefile(t *testing.T, zones []zoneSeed) *target {
	dir := t.TempDir()
	for _, z := range zones {
		var b strings.Builder
		fmt.Fprintf(&b, "$ORIGIN %s.\n$TTL 3600\n", z.name)
		b.WriteString("@ IN SOA ns1.example.net. hostmaster.example.net. 2026010101 7200 3600 1209600 300\n")
		b.WriteString("@ IN NS ns1.example.net.\n")
		for _, r := range z.records {
			b.WriteString(r + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, z.name+".zone"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := func(zone string) string { return filepath.Join(dir, zone+".zone") }
	return &target{
		block: providerBlock{name: "files", typ: "zonefile", settings: []setting{{"directory", dir}}},
		opts:  providers.Options{CallTimeout: callTimeout},
		dir:   dir,
		dump: func(t *testing.T, zone string) []string {
			t.Helper()
			data, err := os.ReadFile(path(zone))
			if err != nil {
				t.Fatalf("zone %s: %v", zone, err)
			}
			return parseDump(t, zone, string(data))
		},
		snapshot: func(t *testing.T, zone string) func() bool {
			t.Helper()
			before, err := os.ReadFile(path(zone))
			if err != nil {
				t.Fatalf("zone %s: %v", zone, err)
			}
			return func() bool {
				after, err := os.ReadFile(path(zone))
				return err == nil && string(after) == string(before)
			}
		},
	}
}

func setupRFC2136(t *testing.T, zones []zoneSeed) *target {
	var tz []testbind.Zone
	for _, z := range zones {
		tz = append(tz, testbind.Zone{Name: z.name, Records: z.records})
	}
	srv := testbind.Start(t, tz...)
	return &target{
		block: bindBlock("bind", srv, srv.Secret),
		opts:  providers.Options{CallTimeout: callTimeout},
		bind:  srv,
		dump: func(t *testing.T, zone string) []string {
			t.Helper()
			lines, err := srv.Dump(t.Context(), zone)
			if err != nil {
				t.Fatal(err)
			}
			return canonical(t, lines)
		},
		snapshot: func(t *testing.T, zone string) func() bool {
			t.Helper()
			before := bindSerial(t, srv, zone)
			return func() bool { return bindSerial(t, srv, zone) == before }
		},
	}
}

func bindBlock(name string, srv *testbind.Server, secret string) providerBlock {
	return providerBlock{name: name, typ: "rfc2136", settings: []setting{
		{"server", srv.Addr}, {"key_name", srv.KeyName}, {"key_alg", srv.KeyAlg}, {"key", secret},
	}}
}

// bindSerial asks BIND for the zone's SOA serial, which it bumps on every
// update that changes something.
func bindSerial(t *testing.T, srv *testbind.Server, zone string) uint32 {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(zone), dns.TypeSOA)
	c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second}
	in, _, err := c.ExchangeContext(t.Context(), m, srv.Addr)
	if err != nil {
		t.Fatalf("zone %s: SOA query: %v", zone, err)
	}
	for _, rr := range in.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial
		}
	}
	t.Fatalf("zone %s: no SOA in the answer %v", zone, in)
	return 0
}

// randomSecret is a TSIG secret BIND does not know.
func randomSecret(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// seedFake creates the zones in a fake and seeds their records.
func seedFake(t *testing.T, fake fakeapi.Fake, zones []zoneSeed) {
	t.Helper()
	for _, z := range zones {
		fake.AddZone(z.name)
		if err := fake.Seed(z.name, z.records...); err != nil {
			t.Fatal(err)
		}
	}
	fake.Middleware().ResetCounts()
}

// canonical parses dump lines again and prints them the one way miekg/dns
// does, sorted, so dumps of different origins compare line by line.
func canonical(t *testing.T, lines []string) []string {
	t.Helper()
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil || rr == nil {
			t.Fatalf("dump line %q: %v", l, err)
		}
		out = append(out, rr.String())
	}
	sort.Strings(out)
	return out
}

// parseDump reads a zone file as named would and returns its records
// canonical and sorted, the SOA serial zeroed.
func parseDump(t *testing.T, zone, text string) []string {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(text), dns.Fqdn(zone), "")
	var out []string
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if soa, isSOA := rr.(*dns.SOA); isSOA {
			soa.Serial = 0
		}
		out = append(out, rr.String())
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone %s: %v", zone, err)
	}
	sort.Strings(out)
	return out
}

// setEnv sets every variable of env for the test.
func setEnv(t *testing.T, env map[string]string) {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Setenv(k, env[k])
	}
}

// withTimeout is a context for one engine run of a test.
func withTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func setupRoute53(t *testing.T, zones []zoneSeed) *target {
	const accessKey = "AKIAFAKECONFORMANCE"
	fake := route53fake.New(accessKey, fakeapi.Options{})
	t.Cleanup(fake.Close)
	// The SDK takes its endpoint from the environment; our builder loads
	// the AWS config first, so it sees the same.
	setEnv(t, fake.Env())
	seedFake(t, fake, zones)
	return &target{
		block: providerBlock{name: "r53", typ: "route53", settings: []setting{
			{"access_key_id", accessKey}, {"secret_access_key", route53fake.SecretAccessKey}, {"region", route53fake.Region},
		}, fast: true},
		opts: providers.Options{CallTimeout: callTimeout},
		mw:   fake.Middleware(),
		records: func(r *http.Request, zone string) bool {
			return strings.Contains(r.URL.Path, "/hostedzone/"+fake.ZoneID(zone)+"/")
		},
		dump:          func(t *testing.T, zone string) []string { return canonical(t, fake.Dump(zone)) },
		throttledBody: route53Throttled,
		throttledType: "text/xml",
	}
}

// route53Throttled is how Route53 says "slow down" (the SDK retries it).
const route53Throttled = `<?xml version="1.0"?>
<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`

func setupDesec(t *testing.T, zones []zoneSeed) *target {
	const token = "desec-test-token"
	fake := desecfake.New(token, fakeapi.Options{})
	t.Cleanup(fake.Close)
	// The client's base URL is fixed and it sends through http.DefaultClient.
	prev := http.DefaultTransport
	http.DefaultTransport = fake.Transport()
	t.Cleanup(func() { http.DefaultTransport = prev })
	seedFake(t, fake, zones)
	return &target{
		block: providerBlock{name: "desec", typ: "desec", settings: []setting{{"token", token}}, fast: true},
		opts:  providers.Options{CallTimeout: callTimeout},
		mw:    fake.Middleware(),
		records: func(r *http.Request, zone string) bool {
			return strings.Contains(r.URL.Path, "/domains/"+zone+"/")
		},
		dump:          func(t *testing.T, zone string) []string { return canonical(t, fake.Dump(zone)) },
		throttledBody: `{"detail": "Request was throttled. Expected available in 1 second."}`,
	}
}
