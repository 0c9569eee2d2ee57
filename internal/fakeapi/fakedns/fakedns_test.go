package fakedns

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/cloudflarefake"
)

// memFake is a fakeapi.Fake that only holds records, for tests that need
// no HTTP API.
type memFake struct {
	mu    sync.Mutex
	zones map[string][]string
}

func newMemFake() *memFake { return &memFake{zones: map[string][]string{}} }

func (f *memFake) URL() string                     { return "" }
func (f *memFake) Middleware() *fakeapi.Middleware { return nil }
func (f *memFake) Close()                          {}
func (f *memFake) AddZone(zone string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.zones[zone]; !ok {
		f.zones[zone] = nil
	}
}

func (f *memFake) Seed(zone string, rrs ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, line := range rrs {
		rr, err := dns.NewRR(line)
		if err != nil {
			return err
		}
		f.zones[zone] = append(f.zones[zone], rr.String())
	}
	return nil
}

func (f *memFake) Dump(zone string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.zones[zone])
	sort.Strings(out)
	return out
}

var _ fakeapi.Fake = (*memFake)(nil)

func start(t testing.TB, zones map[string]fakeapi.Fake) *Server {
	t.Helper()
	s, err := Start(zones)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func exchange(t testing.TB, s *Server, network, name string, qtype uint16, edns bool) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	if edns {
		m.SetEdns0(1232, false)
	}
	c := &dns.Client{Net: network}
	resp, _, err := c.Exchange(m, s.Addr())
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	return resp
}

// rrStrings renders a section as "name TYPE rdata", TTL and class left out.
func rrStrings(rrs []dns.RR) []string {
	out := []string{}
	for _, rr := range rrs {
		h := rr.Header()
		out = append(out, h.Name+" "+dns.TypeToString[h.Rrtype]+" "+strings.TrimSpace(strings.TrimPrefix(rr.String(), h.String())))
	}
	return out
}

func TestAnswers(t *testing.T) {
	f := newMemFake()
	err := f.Seed("example.com",
		"example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 7 3600 600 86400 300",
		"example.com. 3600 IN NS ns1.example.com.",
		"example.com. 300 IN MX 10 mail.example.com.",
		"mail.example.com. 300 IN A 192.0.2.1",
		"mta-sts.example.com. 300 IN CNAME mail.example.com.",
		`_mta-sts.example.com. 300 IN TXT "v=STSv1; id=1"`,
		`_smtp._tls.example.com. 300 IN TXT "v=TLSRPTv1; rua=mailto:r@example.com"`,
		`_smtp._tls.example.com. 300 IN TXT "foreign"`,
		"out.example.com. 300 IN CNAME elsewhere.example.net.",
		"loop1.example.com. 300 IN CNAME loop2.example.com.",
		"loop2.example.com. 300 IN CNAME loop1.example.com.",
		"dangling.example.com. 300 IN CNAME nothing.example.com.",
		"sub.example.com. 300 IN NS ns.elsewhere.test.",
		`_mta-sts.sub.example.com. 300 IN TXT "below the cut"`,
	)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, map[string]fakeapi.Fake{"example.com": f})

	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		aa     bool
		answer []string
		soa    bool
	}{
		{"TXT", "_mta-sts.example.com.", dns.TypeTXT, dns.RcodeSuccess, true, []string{`_mta-sts.example.com. TXT "v=STSv1; id=1"`}, false},
		{"case-insensitive", "_MTA-STS.Example.COM.", dns.TypeTXT, dns.RcodeSuccess, true, []string{`_mta-sts.example.com. TXT "v=STSv1; id=1"`}, false},
		{"two TXT", "_smtp._tls.example.com.", dns.TypeTXT, dns.RcodeSuccess, true,
			[]string{`_smtp._tls.example.com. TXT "foreign"`, `_smtp._tls.example.com. TXT "v=TLSRPTv1; rua=mailto:r@example.com"`}, false},
		{"CNAME asked", "mta-sts.example.com.", dns.TypeCNAME, dns.RcodeSuccess, true, []string{"mta-sts.example.com. CNAME mail.example.com."}, false},
		{"CNAME followed in zone", "mta-sts.example.com.", dns.TypeA, dns.RcodeSuccess, true,
			[]string{"mta-sts.example.com. CNAME mail.example.com.", "mail.example.com. A 192.0.2.1"}, false},
		{"CNAME to the target's NODATA", "mta-sts.example.com.", dns.TypeTXT, dns.RcodeSuccess, true, []string{"mta-sts.example.com. CNAME mail.example.com."}, true},
		{"CNAME out of zone", "out.example.com.", dns.TypeTXT, dns.RcodeSuccess, true, []string{"out.example.com. CNAME elsewhere.example.net."}, false},
		{"CNAME to nothing", "dangling.example.com.", dns.TypeTXT, dns.RcodeNameError, true, []string{"dangling.example.com. CNAME nothing.example.com."}, true},
		{"CNAME loop ends", "loop1.example.com.", dns.TypeTXT, dns.RcodeSuccess, true,
			[]string{"loop1.example.com. CNAME loop2.example.com.", "loop2.example.com. CNAME loop1.example.com.", "loop1.example.com. CNAME loop2.example.com.",
				"loop2.example.com. CNAME loop1.example.com.", "loop1.example.com. CNAME loop2.example.com.", "loop2.example.com. CNAME loop1.example.com.",
				"loop1.example.com. CNAME loop2.example.com.", "loop2.example.com. CNAME loop1.example.com."}, false},
		{"NODATA", "mail.example.com.", dns.TypeTXT, dns.RcodeSuccess, true, []string{}, true},
		{"NODATA at an empty non-terminal", "_tls.example.com.", dns.TypeTXT, dns.RcodeSuccess, true, []string{}, true},
		{"NXDOMAIN", "_mta-sts.nothing.example.com.", dns.TypeTXT, dns.RcodeNameError, true, []string{}, true},
		{"apex", "example.com.", dns.TypeMX, dns.RcodeSuccess, true, []string{"example.com. MX 10 mail.example.com."}, false},
		{"referral below a delegation", "_mta-sts.sub.example.com.", dns.TypeTXT, dns.RcodeSuccess, false, []string{}, false},
		{"referral at a delegation", "sub.example.com.", dns.TypeNS, dns.RcodeSuccess, false, []string{}, false},
		{"another zone", "_mta-sts.example.org.", dns.TypeTXT, dns.RcodeRefused, false, []string{}, false},
		{"outside every zone", "example.net.", dns.TypeTXT, dns.RcodeRefused, false, []string{}, false},
	}
	for _, tc := range tests {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(tc.name+"/"+network, func(t *testing.T) {
				resp := exchange(t, s, network, tc.qname, tc.qtype, true)
				if resp.Rcode != tc.rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[tc.rcode])
				}
				if resp.Authoritative != tc.aa {
					t.Errorf("AA %v, want %v", resp.Authoritative, tc.aa)
				}
				if resp.RecursionAvailable {
					t.Error("RA set by an authoritative-only server")
				}
				got := rrStrings(resp.Answer)
				if !slices.Equal(got, tc.answer) {
					t.Errorf("answer\n%q\nwant\n%q", got, tc.answer)
				}
				hasSOA := len(resp.Ns) == 1 && resp.Ns[0].Header().Rrtype == dns.TypeSOA
				if hasSOA != tc.soa {
					t.Errorf("authority %v, want SOA: %v", resp.Ns, tc.soa)
				}
			})
		}
	}
}

// TestMadeUpSOA: a Cloudflare zone lists no SOA; NXDOMAIN still carries one.
func TestMadeUpSOA(t *testing.T) {
	f := newMemFake()
	f.AddZone("example.com")
	s := start(t, map[string]fakeapi.Fake{"example.com.": f})
	resp := exchange(t, s, "udp", "x.example.com.", dns.TypeTXT, false)
	if resp.Rcode != dns.RcodeNameError || len(resp.Ns) != 1 {
		t.Fatalf("got %v", resp)
	}
	if soa, ok := resp.Ns[0].(*dns.SOA); !ok || soa.Hdr.Name != "example.com." {
		t.Errorf("authority %v, want the zone's SOA", resp.Ns)
	}
}

func TestLongestZoneWins(t *testing.T) {
	parent, child := newMemFake(), newMemFake()
	if err := parent.Seed("example.com", `a.sub.example.com. 60 IN TXT "parent"`); err != nil {
		t.Fatal(err)
	}
	if err := child.Seed("sub.example.com", `a.sub.example.com. 60 IN TXT "child"`); err != nil {
		t.Fatal(err)
	}
	s := start(t, map[string]fakeapi.Fake{"example.com": parent, "sub.example.com": child})
	resp := exchange(t, s, "udp", "a.sub.example.com.", dns.TypeTXT, false)
	if got := rrStrings(resp.Answer); !slices.Equal(got, []string{`a.sub.example.com. TXT "child"`}) {
		t.Errorf("answer %q, want the child zone's", got)
	}
}

func TestTruncatedOverUDP(t *testing.T) {
	f := newMemFake()
	var lines []string
	for i := range 40 {
		lines = append(lines, fmt.Sprintf(`big.example.com. 60 IN TXT "%s %d"`, strings.Repeat("x", 60), i))
	}
	if err := f.Seed("example.com", lines...); err != nil {
		t.Fatal(err)
	}
	s := start(t, map[string]fakeapi.Fake{"example.com": f})
	udp := exchange(t, s, "udp", "big.example.com.", dns.TypeTXT, false)
	if !udp.Truncated {
		t.Errorf("UDP answer of %d records without EDNS not truncated", len(udp.Answer))
	}
	tcp := exchange(t, s, "tcp", "big.example.com.", dns.TypeTXT, false)
	if tcp.Truncated || len(tcp.Answer) != 40 {
		t.Errorf("TCP: truncated %v, %d records; want all 40", tcp.Truncated, len(tcp.Answer))
	}
}

// TestLiveContent: a record written through the fake's real API client is
// served at once, and the parse is cached while nothing changes.
func TestLiveContent(t *testing.T) {
	cf := cloudflarefake.New("token", fakeapi.Options{})
	defer cf.Close()
	if err := cf.Seed("example.com", "www.example.com. 300 IN A 192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	s := start(t, map[string]fakeapi.Fake{"example.com": cf})

	if resp := exchange(t, s, "udp", "_mta-sts.example.com.", dns.TypeTXT, true); resp.Rcode != dns.RcodeNameError {
		t.Fatalf("before the write: rcode %s, want NXDOMAIN", dns.RcodeToString[resp.Rcode])
	}
	for range 5 {
		exchange(t, s, "udp", "www.example.com.", dns.TypeA, true)
	}
	if got := s.Parses(); got != 1 {
		t.Errorf("%d parses of an unchanged zone, want 1", got)
	}
	_, err := cf.Provider().AppendRecords(context.Background(), "example.com.", []libdns.Record{libdns.TXT{Name: "_mta-sts", Text: "v=STSv1; id=2"}})
	if err != nil {
		t.Fatal(err)
	}
	resp := exchange(t, s, "udp", "_mta-sts.example.com.", dns.TypeTXT, true)
	txt, ok := firstTXT(resp)
	if !ok || txt != "v=STSv1; id=2" || !resp.Authoritative {
		t.Errorf("after the write: %v", resp)
	}
	if got := s.Parses(); got != 2 {
		t.Errorf("%d parses after one change, want 2", got)
	}

	// Seed goes around the API: only Invalidate makes it visible.
	if err := cf.Seed("example.com", `seeded.example.com. 300 IN TXT "late"`); err != nil {
		t.Fatal(err)
	}
	if resp := exchange(t, s, "udp", "seeded.example.com.", dns.TypeTXT, true); resp.Rcode != dns.RcodeNameError {
		t.Errorf("a seeded record served before Invalidate: the cache is not what the test thinks it is")
	}
	s.Invalidate()
	if resp := exchange(t, s, "udp", "seeded.example.com.", dns.TypeTXT, true); len(resp.Answer) != 1 {
		t.Errorf("after Invalidate: %v", resp)
	}
	if got := s.Queries(); got != 9 {
		t.Errorf("Queries() = %d, want 9", got)
	}
}

// TestNoMiddlewareDumpsEachQuery: a fake without a middleware is read on
// every query, so a Seed shows at once.
func TestNoMiddlewareDumpsEachQuery(t *testing.T) {
	f := newMemFake()
	f.AddZone("example.com")
	s := start(t, map[string]fakeapi.Fake{"example.com": f})
	if resp := exchange(t, s, "udp", "a.example.com.", dns.TypeTXT, false); resp.Rcode != dns.RcodeNameError {
		t.Fatalf("rcode %s, want NXDOMAIN", dns.RcodeToString[resp.Rcode])
	}
	exchange(t, s, "udp", "a.example.com.", dns.TypeTXT, false)
	if err := f.Seed("example.com", `a.example.com. 60 IN TXT "x"`); err != nil {
		t.Fatal(err)
	}
	if resp := exchange(t, s, "udp", "a.example.com.", dns.TypeTXT, false); len(resp.Answer) != 1 {
		t.Errorf("after Seed: %v", resp)
	}
	if got := s.Parses(); got != 2 {
		t.Errorf("%d parses for two distinct dumps, want 2", got)
	}
}

func firstTXT(m *dns.Msg) (string, bool) {
	for _, rr := range m.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			return strings.Join(t.Txt, ""), true
		}
	}
	return "", false
}

func TestOddQueries(t *testing.T) {
	f := newMemFake()
	f.AddZone("example.com")
	s := start(t, map[string]fakeapi.Fake{"example.com": f})
	c := &dns.Client{Net: "udp"}

	notify := new(dns.Msg)
	notify.SetNotify("example.com.")
	resp, _, err := c.Exchange(notify, s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rcode != dns.RcodeNotImplemented {
		t.Errorf("NOTIFY: rcode %s, want NOTIMP", dns.RcodeToString[resp.Rcode])
	}

	chaos := new(dns.Msg)
	chaos.SetQuestion("example.com.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	if resp, _, err = c.Exchange(chaos, s.Addr()); err != nil {
		t.Fatal(err)
	}
	if resp.Rcode != dns.RcodeRefused {
		t.Errorf("CHAOS class: rcode %s, want REFUSED", dns.RcodeToString[resp.Rcode])
	}
}

func TestBadDumpIsServfail(t *testing.T) {
	f := newMemFake()
	f.zones["example.com"] = []string{"this is not a record"}
	s := start(t, map[string]fakeapi.Fake{"example.com": f})
	if resp := exchange(t, s, "udp", "example.com.", dns.TypeTXT, false); resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %s, want SERVFAIL", dns.RcodeToString[resp.Rcode])
	}
}

// FuzzParse: no dump, however broken, panics the parser or yields a zone
// without its SOA; every owner it keeps is inside the zone.
func FuzzParse(f *testing.F) {
	f.Add("a.example.com. 300 IN TXT \"x\"\nexample.com. 300 IN SOA ns. h. 1 2 3 4 5")
	f.Add("b.c.example.com. 60 IN CNAME x.example.net.")
	f.Add("other.org. 60 IN A 192.0.2.1")
	f.Add(";comment\n\n$TTL 5")
	f.Fuzz(func(t *testing.T, dump string) {
		c, err := parse("example.com.", strings.Split(dump, "\n"))
		if err != nil {
			return
		}
		if c.soa == nil || !c.exists["example.com."] {
			t.Fatalf("parsed zone lacks its SOA or apex: %+v", c)
		}
		for owner := range c.byName {
			if !dns.IsSubDomain("example.com.", owner) {
				t.Fatalf("owner %s outside the zone", owner)
			}
		}
	})
}

// FuzzAnswer: any message, however odd, gets a reply without a panic.
func FuzzAnswer(f *testing.F) {
	m := new(dns.Msg)
	m.SetQuestion("_mta-sts.example.com.", dns.TypeTXT)
	wire, _ := m.Pack()
	f.Add(wire)
	mem := newMemFake()
	if err := mem.Seed("example.com", `_mta-sts.example.com. 60 IN TXT "v=STSv1; id=1"`, "x.example.com. 60 IN CNAME _mta-sts.example.com."); err != nil {
		f.Fatal(err)
	}
	s := &Server{zones: map[string]*zone{}}
	s.AddZone("example.com", mem)
	f.Fuzz(func(t *testing.T, wire []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(wire); err != nil {
			return
		}
		resp := s.answer(req, "udp")
		if resp.Id != req.Id || !resp.Response {
			t.Fatalf("reply %v does not answer %v", resp, req)
		}
		if _, err := resp.Pack(); err != nil {
			t.Fatalf("reply does not pack: %v", err)
		}
	})
}

// BenchmarkQuery3000 asks for one name of a 3,000-record zone held by the
// Cloudflare fake, the zone unchanged between queries (cache hit).
func BenchmarkQuery3000(b *testing.B) {
	cf := cloudflarefake.New("token", fakeapi.Options{})
	defer cf.Close()
	lines := make([]string, 3000)
	for i := range lines {
		lines[i] = fmt.Sprintf(`h%04d.example.com. 300 IN TXT "v=spf1 ip4:192.0.2.%d -all"`, i, i%250)
	}
	if err := cf.Seed("example.com", lines...); err != nil {
		b.Fatal(err)
	}
	s := &Server{zones: map[string]*zone{}}
	s.AddZone("example.com", cf)
	req := new(dns.Msg)
	req.SetQuestion("h1234.example.com.", dns.TypeTXT)
	b.ReportAllocs()
	s.answer(req, "udp") // the first query parses
	for b.Loop() {
		if resp := s.answer(req, "udp"); len(resp.Answer) != 1 {
			b.Fatalf("answer %v", resp.Answer)
		}
	}
}

// TestReferral: below a delegation the parent answers with the cut's NS
// records in the authority section, never with what it holds there.
func TestReferral(t *testing.T) {
	f := newMemFake()
	if err := f.Seed("example.com",
		"sub.example.com. 300 IN NS ns2.elsewhere.test.",
		"sub.example.com. 300 IN NS ns1.elsewhere.test.",
		`_mta-sts.deep.sub.example.com. 300 IN TXT "below the cut"`,
	); err != nil {
		t.Fatal(err)
	}
	s := start(t, map[string]fakeapi.Fake{"example.com": f})
	resp := exchange(t, s, "udp", "_mta-sts.deep.sub.example.com.", dns.TypeTXT, false)
	if resp.Authoritative || len(resp.Answer) != 0 {
		t.Errorf("AA %v, answer %v: want a referral", resp.Authoritative, resp.Answer)
	}
	got := rrStrings(resp.Ns)
	sort.Strings(got)
	if want := []string{"sub.example.com. NS ns1.elsewhere.test.", "sub.example.com. NS ns2.elsewhere.test."}; !slices.Equal(got, want) {
		t.Errorf("authority %q, want %q", got, want)
	}
}
