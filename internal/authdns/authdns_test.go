package authdns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/testbind"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

const zone = "example.com."

// ourNames are the three names mtasts-sync owns in a domain, spelled the
// way a user might.
var ourNames = []string{"MTA-STS.example.com", "_mta-sts.example.com.", "_smtp._tls.Example.COM."}

// scenario is what a loopback server serves and how it misbehaves.
type scenario struct {
	records  []string // presentation format, absolute names
	rcode    int      // when set, every query gets this rcode
	noAA     bool     // answer without the AA bit
	truncate string   // "udp": truncate UDP answers; "all": every answer
	silent   bool     // never answer
}

// seenQuery is one query as the server received it.
type seenQuery struct {
	network string
	name    string
	qtype   uint16
	rd      bool
	edns    uint16 // 0 without EDNS0
}

// testServer is a miekg/dns server on a loopback port (UDP and TCP) that
// answers from a scenario like an authoritative server and logs queries.
type testServer struct {
	addr string
	sc   scenario
	rrs  []dns.RR

	mu      sync.Mutex
	queries []seenQuery
}

func startServer(t testing.TB, sc scenario) *testServer {
	t.Helper()
	return startServerOn(t, "127.0.0.1", sc)
}

func startServerOn(t testing.TB, host string, sc scenario) *testServer {
	t.Helper()
	s := &testServer{sc: sc}
	for _, line := range sc.records {
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("scenario record %q: %v", line, err)
		}
		s.rrs = append(s.rrs, rr)
	}
	pc, l := listenBoth(t, host)
	s.addr = pc.LocalAddr().String()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: s}, {Listener: l, Handler: s}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return s
}

// listenBoth binds UDP and TCP on one free port of host.
func listenBoth(t testing.TB, host string) (net.PacketConn, net.Listener) {
	t.Helper()
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatalf("listen udp on %s: %v", host, err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		lastErr = err
		_ = pc.Close()
	}
	t.Fatalf("no port free for both UDP and TCP on %s: %v", host, lastErr)
	return nil, nil
}

func (s *testServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	q := req.Question[0]
	seen := seenQuery{network: w.RemoteAddr().Network(), name: q.Name, qtype: q.Qtype, rd: req.RecursionDesired}
	if opt := req.IsEdns0(); opt != nil {
		seen.edns = opt.UDPSize()
	}
	s.mu.Lock()
	s.queries = append(s.queries, seen)
	s.mu.Unlock()

	if s.sc.silent {
		return
	}
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = !s.sc.noAA
	switch {
	case s.sc.rcode != 0:
		resp.Rcode = s.sc.rcode
	case s.sc.truncate == "all" || s.sc.truncate == "udp" && seen.network == "udp":
		resp.Truncated = true
	default:
		resp.Answer = s.answer(q.Name, q.Qtype)
		if resp.Answer == nil && !s.exists(q.Name) {
			resp.Rcode = dns.RcodeNameError
		}
	}
	_ = w.WriteMsg(resp)
}

// answer returns the records of qtype at name, or the CNAME there followed
// by the target's records when the target is served too.
func (s *testServer) answer(name string, qtype uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range s.rrs {
		if !strings.EqualFold(rr.Header().Name, name) {
			continue
		}
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		} else if cname, ok := rr.(*dns.CNAME); ok {
			out = append(out, rr)
			out = append(out, s.answer(cname.Target, qtype)...)
		}
	}
	return out
}

func (s *testServer) exists(name string) bool {
	return slices.ContainsFunc(s.rrs, func(rr dns.RR) bool { return strings.EqualFold(rr.Header().Name, name) })
}

func (s *testServer) seen() []seenQuery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// render prints records one per line for comparison; TTL included.
func render(recs []reconcile.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "%s %s %q %v\n", r.Name, r.Type, r.Value, r.TTL)
	}
	return b.String()
}

func rec(name, typ, value string, ttl int) reconcile.Record {
	return reconcile.Record{Name: name, Type: typ, Value: value, TTL: time.Duration(ttl) * time.Second}
}

// present is a zone holding all three names: the CNAME, a multi-chunk TXT
// and a TXT with quotes, a backslash and UTF-8, plus records not ours.
var present = []string{
	"mta-sts.example.com. 300 IN CNAME Mail.Example.NET.",
	`_mta-sts.example.com. 600 IN TXT "v=STSv1; " "id=20240101T000000"`,
	`_smtp._tls.example.com. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@example.com; x=\"q\" \\ caf\195\169"`,
	"www.example.com. 300 IN A 192.0.2.1",
	`other.example.com. 300 IN TXT "not asked"`,
}

var presentWant = []reconcile.Record{
	rec("_mta-sts.example.com.", "TXT", "v=STSv1; id=20240101T000000", 600),
	rec("_smtp._tls.example.com.", "TXT", `v=TLSRPTv1; rua=mailto:tls@example.com; x="q" \ café`, 300),
	rec("mta-sts.example.com.", "CNAME", "mail.example.net.", 300),
}

func TestRecordsOneServer(t *testing.T) {
	tests := []struct {
		name    string
		sc      scenario
		timeout time.Duration
		want    []reconcile.Record
		wantErr string
	}{
		{name: "all three names present", sc: scenario{records: present}, want: presentWant},
		{name: "NXDOMAIN means no records", sc: scenario{records: []string{"www.example.com. 300 IN A 192.0.2.1"}}},
		{name: "NODATA means no records", sc: scenario{records: []string{
			"mta-sts.example.com. 300 IN A 192.0.2.1",
			"_mta-sts.example.com. 300 IN MX 10 mail.example.com.",
			`_smtp._tls.example.com. 300 IN SPF "v=spf1 -all"`,
		}}},
		{
			name: "CNAME at a TXT name is kept, its in-zone target's TXT is not",
			sc: scenario{records: []string{
				"_mta-sts.example.com. 300 IN CNAME _mta-sts.primary.example.com.",
				`_mta-sts.primary.example.com. 300 IN TXT "v=STSv1; id=1"`,
			}},
			want: []reconcile.Record{rec("_mta-sts.example.com.", "CNAME", "_mta-sts.primary.example.com.", 300)},
		},
		{
			name: "two TXT at one name are both kept",
			sc: scenario{records: []string{
				`_mta-sts.example.com. 300 IN TXT "v=STSv1; id=1"`,
				`_mta-sts.example.com. 300 IN TXT "v=STSv1; id=2"`,
			}},
			want: []reconcile.Record{
				rec("_mta-sts.example.com.", "TXT", "v=STSv1; id=1", 300),
				rec("_mta-sts.example.com.", "TXT", "v=STSv1; id=2", 300),
			},
		},
		{name: "truncated UDP answer is asked again over TCP", sc: scenario{records: present, truncate: "udp"}, want: presentWant},
		{name: "truncated over TCP too", sc: scenario{records: present, truncate: "all"}, wantErr: "answer truncated even over TCP"},
		{name: "SERVFAIL", sc: scenario{rcode: dns.RcodeServerFailure}, wantErr: "server answered SERVFAIL"},
		{name: "REFUSED", sc: scenario{rcode: dns.RcodeRefused}, wantErr: "server answered REFUSED"},
		{name: "NOTAUTH", sc: scenario{rcode: dns.RcodeNotAuth}, wantErr: "server answered NOTAUTH"},
		{name: "FORMERR", sc: scenario{rcode: dns.RcodeFormatError}, wantErr: "server answered FORMERR"},
		{name: "no AA bit", sc: scenario{records: present, noAA: true}, wantErr: "lacks the AA bit"},
		{name: "no AA bit on NXDOMAIN", sc: scenario{noAA: true}, wantErr: "lacks the AA bit"},
		// 200 ms bounds the test; nothing here measures time.
		{name: "server never answers", sc: scenario{silent: true}, timeout: 200 * time.Millisecond, wantErr: "no answer within 200ms (timeout)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.sc)
			c := New(Options{Resolver: srv.addr, Timeout: tt.timeout})
			got, err := c.Records(t.Context(), "Example.COM", txtAndCNAME(ourNames...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Records() error = %v, want one containing %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "zone example.com.") || !strings.Contains(err.Error(), srv.addr) {
					t.Errorf("error %q names neither the zone nor the server", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Records() error = %v", err)
			}
			if g, w := render(got), render(tt.want); g != w {
				t.Errorf("Records() =\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestRecordsAsksExplicitTypesWithoutRecursion(t *testing.T) {
	srv := startServer(t, scenario{records: present, truncate: "udp"})
	if _, err := New(Options{Resolver: srv.addr}).Records(t.Context(), zone, txtAndCNAME(ourNames...)); err != nil {
		t.Fatalf("Records() error = %v", err)
	}
	asked := map[string]int{}
	for _, q := range srv.seen() {
		if q.rd {
			t.Errorf("query %s %s has RD set; authoritative queries must not ask for recursion", q.name, dns.TypeToString[q.qtype])
		}
		if q.edns != ednsSize {
			t.Errorf("query %s %s over %s has EDNS0 size %d, want %d", q.name, dns.TypeToString[q.qtype], q.network, q.edns, ednsSize)
		}
		asked[fmt.Sprintf("%s %s %s", q.network, strings.ToLower(q.name), dns.TypeToString[q.qtype])]++
	}
	var want = map[string]int{}
	for _, n := range []string{"mta-sts.example.com.", "_mta-sts.example.com.", "_smtp._tls.example.com."} {
		for _, typ := range []string{"TXT", "CNAME"} {
			want["udp "+n+" "+typ] = 1
			want["tcp "+n+" "+typ] = 1
		}
	}
	if fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Errorf("queries asked = %v\nwant %v", asked, want)
	}
}

func TestRecordsValidatesNames(t *testing.T) {
	tests := []struct {
		name    string
		zone    string
		names   []string
		wantErr string
	}{
		{name: "outside the zone", zone: zone, names: []string{"_mta-sts.example.org."}, wantErr: "zone example.com.: name _mta-sts.example.org. is outside the zone"},
		{name: "suffix is not a parent", zone: zone, names: []string{"_mta-sts.badexample.com."}, wantErr: "is outside the zone"},
		{name: "bad name", zone: zone, names: []string{"a..example.com"}, wantErr: "not a valid domain name"},
		{name: "bad zone", zone: "example..com", names: []string{"a.example.com"}, wantErr: "not a valid domain name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := false
			c := New(Options{Resolver: "127.0.0.1:1", Exchange: func(context.Context, string, string, *dns.Msg) (*dns.Msg, error) {
				asked = true
				return nil, errors.New("must not be asked")
			}})
			_, err := c.Records(t.Context(), tt.zone, txtAndCNAME(tt.names...))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Records() error = %v, want one containing %q", err, tt.wantErr)
			}
			if asked {
				t.Error("a query was sent for invalid input")
			}
		})
	}
}

func TestRecordsNoNamesAsksNothing(t *testing.T) {
	c := New(Options{Exchange: func(context.Context, string, string, *dns.Msg) (*dns.Msg, error) {
		return nil, errors.New("must not be asked")
	}})
	got, err := c.Records(t.Context(), zone, nil)
	if err != nil || got != nil {
		t.Fatalf("Records(no names) = %v, %v; want nil, nil", got, err)
	}
}

// TestRecordsOddReplies feeds replies no well-behaved server sends through
// the Exchange seam.
func TestRecordsOddReplies(t *testing.T) {
	good := func(req *dns.Msg) *dns.Msg {
		resp := new(dns.Msg)
		resp.SetReply(req)
		resp.Authoritative = true
		return resp
	}
	tests := []struct {
		name    string
		reply   func(network string, req *dns.Msg) (*dns.Msg, error)
		wantErr string
	}{
		{
			name: "TCP fails after a truncated UDP answer",
			reply: func(network string, req *dns.Msg) (*dns.Msg, error) {
				if network == "tcp" {
					return nil, errors.New("connection refused")
				}
				resp := good(req)
				resp.Truncated = true
				return resp, nil
			},
			wantErr: "truncated UDP answer not recovered over TCP: connection refused",
		},
		{
			name: "reply with another id",
			reply: func(_ string, req *dns.Msg) (*dns.Msg, error) {
				resp := good(req)
				resp.Id = req.Id + 1
				return resp, nil
			},
			wantErr: "reply does not match the query",
		},
		{
			name: "reply to another question",
			reply: func(_ string, req *dns.Msg) (*dns.Msg, error) {
				resp := good(req)
				resp.Question[0].Name = "evil.example.com."
				return resp, nil
			},
			wantErr: "reply answers another question",
		},
		{
			name:    "network error",
			reply:   func(string, *dns.Msg) (*dns.Msg, error) { return nil, errors.New("network is unreachable") },
			wantErr: "network is unreachable",
		},
		{
			name:    "no reply and no error",
			reply:   func(string, *dns.Msg) (*dns.Msg, error) { return nil, nil },
			wantErr: "no reply",
		},
		{
			name: "rcode beyond the table",
			reply: func(_ string, req *dns.Msg) (*dns.Msg, error) {
				resp := good(req)
				resp.Rcode = 3000
				return resp, nil
			},
			wantErr: "server answered rcode 3000",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Options{Resolver: "192.0.2.53:53", Exchange: func(_ context.Context, network, _ string, m *dns.Msg) (*dns.Msg, error) {
				return tt.reply(network, m)
			}})
			_, err := c.Records(t.Context(), zone, txtAndCNAME(ourNames...))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Records() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRecordsCanceledContext(t *testing.T) {
	srv := startServer(t, scenario{silent: true})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := New(Options{Resolver: srv.addr}).Records(ctx, zone, txtAndCNAME(ourNames...))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Records(canceled) error = %v, want context.Canceled", err)
	}
}

// nsSetup is a fake recursive resolver for the NS lookup plus the
// authoritative servers its addresses stand for, reached through Exchange.
type nsSetup struct {
	resolver *testServer
	servers  map[string]*testServer // "ip:53" -> loopback server
}

func (s nsSetup) exchange(ctx context.Context, network, server string, msg *dns.Msg) (*dns.Msg, error) {
	if srv, ok := s.servers[server]; ok {
		server = srv.addr
	} else if server != s.resolver.addr {
		return nil, fmt.Errorf("test asked unknown server %s", server)
	}
	return netExchange(ctx, network, server, msg)
}

func TestRecordsNameserverDiscovery(t *testing.T) {
	current := present
	stale := slices.Clone(present)
	stale[1] = `_mta-sts.example.com. 600 IN TXT "v=STSv1; id=20230101T000000"`
	longTTL := slices.Clone(present)
	longTTL[0] = "mta-sts.example.com. 3600 IN CNAME mail.example.net."

	twoNS := []string{
		"example.com. 3600 IN NS ns1.example.net.",
		"example.com. 3600 IN NS NS2.example.net.",
		"ns1.example.net. 3600 IN A 192.0.2.1",
		"ns2.example.net. 3600 IN A 192.0.2.2",
		"ns2.example.net. 3600 IN AAAA 2001:db8::2",
	}
	tests := []struct {
		name     string
		ns       []string
		servers  map[string][]string // "ip:53" -> zone content
		ipv4Only bool
		want     []reconcile.Record
		wantErr  string
	}{
		{
			name:    "every address agrees; the smallest TTL wins",
			ns:      twoNS,
			servers: map[string][]string{"192.0.2.1:53": current, "192.0.2.2:53": longTTL, "[2001:db8::2]:53": current},
			want:    presentWant,
		},
		{
			name:    "a secondary still has the old id",
			ns:      twoNS,
			servers: map[string][]string{"192.0.2.1:53": current, "192.0.2.2:53": current, "[2001:db8::2]:53": stale},
			wantErr: `servers disagree: 192.0.2.1:53 has _mta-sts.example.com. TXT "v=STSv1; id=20240101T000000" that [2001:db8::2]:53 lacks; [2001:db8::2]:53 has _mta-sts.example.com. TXT "v=STSv1; id=20230101T000000" that 192.0.2.1:53 lacks`,
		},
		{
			name:     "IPv4Only leaves out AAAA addresses",
			ns:       twoNS,
			servers:  map[string][]string{"192.0.2.1:53": current, "192.0.2.2:53": current, "[2001:db8::2]:53": stale},
			ipv4Only: true,
			want:     presentWant,
		},
		{
			name: "a server lacking a record disagrees",
			ns:   twoNS,
			servers: map[string][]string{
				"192.0.2.1:53": current, "192.0.2.2:53": current[1:], "[2001:db8::2]:53": current,
			},
			wantErr: `192.0.2.1:53 has mta-sts.example.com. CNAME "mail.example.net." that 192.0.2.2:53 lacks`,
		},
		{
			name: "two NS names with one address ask it once",
			ns: []string{
				"example.com. 3600 IN NS a.example.net.",
				"example.com. 3600 IN NS b.example.net.",
				"a.example.net. 3600 IN A 192.0.2.1",
				"b.example.net. 3600 IN A 192.0.2.1",
			},
			servers: map[string][]string{"192.0.2.1:53": current},
			want:    presentWant,
		},
		{
			name:    "zone without NS",
			ns:      []string{"example.com. 3600 IN A 192.0.2.1"},
			wantErr: "zone example.com.: NS lookup: no NS records at the zone apex",
		},
		{
			name:    "zone does not exist",
			ns:      []string{"other.test. 3600 IN NS ns1.example.net."},
			wantErr: "the zone does not exist (NXDOMAIN)",
		},
		{
			name:    "NS without address",
			ns:      []string{"example.com. 3600 IN NS ns1.example.net.", "ns1.example.net. 3600 IN TXT \"no address\""},
			wantErr: "zone example.com.: nameserver ns1.example.net. has no A or AAAA address",
		},
		{
			name:     "NS with only an AAAA address under IPv4Only",
			ns:       []string{"example.com. 3600 IN NS ns1.example.net.", "ns1.example.net. 3600 IN AAAA 2001:db8::1"},
			ipv4Only: true,
			wantErr:  "nameserver ns1.example.net. has no A address",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup := nsSetup{resolver: startServer(t, scenario{records: tt.ns}), servers: map[string]*testServer{}}
			for addr, records := range tt.servers {
				setup.servers[addr] = startServer(t, scenario{records: records})
			}
			c := New(Options{NSResolver: setup.resolver.addr, IPv4Only: tt.ipv4Only, Exchange: setup.exchange})
			got, err := c.Records(t.Context(), zone, txtAndCNAME(ourNames...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Records() error = %v\nwant one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Records() error = %v", err)
			}
			if g, w := render(got), render(tt.want); g != w {
				t.Errorf("Records() =\n%s\nwant\n%s", g, w)
			}
			for addr, srv := range setup.servers {
				n := len(srv.seen())
				if tt.ipv4Only && strings.HasPrefix(addr, "[") {
					if n != 0 {
						t.Errorf("IPv4Only asked %s %d times", addr, n)
					}
					continue
				}
				if want := 2 * len(ourNames); n != want {
					t.Errorf("server %s asked %d queries, want %d (TXT and CNAME per name)", addr, n, want)
				}
			}
			for _, q := range setup.resolver.seen() {
				if !q.rd {
					t.Errorf("NS-discovery query %s %s lacks RD: the resolver must recurse", q.name, dns.TypeToString[q.qtype])
				}
			}
		})
	}
}

// TestRecordsBIND proves that what a real BIND 9 answers reads into the same
// records the RFC 2136 provider's GetRecords shows for the same zone.
func TestRecordsBIND(t *testing.T) {
	const zone = "example.test."
	s := testbind.Start(t, testbind.Zone{Name: zone, Records: []string{
		"mta-sts.example.test. 300 IN CNAME Mail.Example.NET.",
		`_mta-sts.example.test. 600 IN TXT "v=STSv1; " "id=20240101T000000"`,
		`_smtp._tls.example.test. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@example.test"`,
		"_mta-sts.other.example.test. 300 IN CNAME _mta-sts.example.test.",
		`quoted.example.test. 300 IN TXT "say \"hi\" \\ caf\195\169"`,
		"nodata.example.test. 300 IN A 192.0.2.1",
		"www.example.test. 300 IN A 192.0.2.1",
	}})
	names := []string{
		"mta-sts.example.test.", "_mta-sts.example.test.", "_smtp._tls.example.test.",
		"_mta-sts.other.example.test.", "nodata.example.test.", "missing.example.test.",
	}
	got, err := New(Options{Resolver: s.Addr}).Records(t.Context(), zone, txtAndCNAME(names...))
	if err != nil {
		t.Fatalf("Records() from BIND: %v", err)
	}

	live, err := s.Provider().GetRecords(t.Context(), zone)
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	shown := recordSet{}
	for _, r := range reconcile.Ingest(zone, live, reconcile.IngestOptions{}) {
		if slices.Contains(names, r.Name) && (r.Type == "TXT" || r.Type == "CNAME") {
			r.Raw = nil
			shown.add(r)
		}
	}
	want := shown.sorted()
	if g, w := render(got), render(want); g != w {
		t.Errorf("Records() from BIND =\n%s\nGetRecords shows\n%s", g, w)
	}
	if len(got) != 4 {
		t.Errorf("Records() from BIND returned %d records, want 4:\n%s", len(got), render(got))
	}

	// GetRecords keeps miekg's escapes in TXT data; DNS answers give the
	// raw bytes, which is what a sender compares.
	quoted, err := New(Options{Resolver: s.Addr}).Records(t.Context(), zone, txtAndCNAME("quoted.example.test."))
	if err != nil {
		t.Fatalf("Records(quoted) from BIND: %v", err)
	}
	if want := `say "hi" \ café`; len(quoted) != 1 || quoted[0].Value != want {
		t.Errorf("Records(quoted) from BIND = %s, want one TXT %q", render(quoted), want)
	}
}

func BenchmarkRecords(b *testing.B) {
	srv := startServer(b, scenario{records: present})
	c := New(Options{Resolver: srv.addr})
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Records(ctx, zone, txtAndCNAME(ourNames...)); err != nil {
			b.Fatal(err)
		}
	}
}

// txtMessage builds a wire-format reply holding one TXT record at the root
// whose character-strings are chunks, raw bytes, bypassing miekg's packer.
func txtMessage(chunks [][]byte) []byte {
	var rdata []byte
	for _, c := range chunks {
		rdata = append(rdata, byte(len(c)))
		rdata = append(rdata, c...)
	}
	msg := []byte{0, 1, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0} // id 1, QR AA, one answer
	msg = append(msg, 0)                                 // owner: root
	msg = binary.BigEndian.AppendUint16(msg, dns.TypeTXT)
	msg = binary.BigEndian.AppendUint16(msg, dns.ClassINET)
	msg = binary.BigEndian.AppendUint32(msg, 300)
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(rdata)))
	return append(msg, rdata...)
}

func TestTXTValueIsRawBytes(t *testing.T) {
	tests := []struct {
		chunks [][]byte
		want   string
	}{
		{[][]byte{[]byte("v=STSv1; "), []byte("id=1")}, "v=STSv1; id=1"},
		{[][]byte{[]byte(`a"b\c`)}, `a"b\c`},
		{[][]byte{[]byte("café")}, "café"},
		{[][]byte{[]byte(`\065`)}, `\065`}, // a literal backslash-digits, not an escape
		{[][]byte{{0, '\t', 0xff}}, "\x00\t\xff"},
		{[][]byte{{}, []byte("x")}, "x"},
	}
	for _, tt := range tests {
		var m dns.Msg
		if err := m.Unpack(txtMessage(tt.chunks)); err != nil {
			t.Fatalf("unpack %q: %v", tt.chunks, err)
		}
		got := ownRecords(".", dns.TypeTXT, m.Answer)
		if len(got) != 1 || got[0].Value != tt.want {
			t.Errorf("value of TXT %q = %v, want %q", tt.chunks, got, tt.want)
		}
	}
}

// FuzzTXTValue checks that any TXT record on the wire reads back as exactly
// its bytes, whatever miekg escapes on the way.
func FuzzTXTValue(f *testing.F) {
	for _, seed := range []string{"v=STSv1; id=1", `a"b\c`, "café", `\065`, "\x00\xff", `\\\"`} {
		f.Add(seed, 3)
	}
	f.Fuzz(func(t *testing.T, text string, cut int) {
		if text == "" || len(text) > 2000 {
			return
		}
		var chunks [][]byte
		size := max(1, min(255, cut))
		for rest := []byte(text); len(rest) > 0; {
			n := min(size, len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		var m dns.Msg
		if err := m.Unpack(txtMessage(chunks)); err != nil {
			t.Fatalf("unpack: %v", err)
		}
		got := ownRecords(".", dns.TypeTXT, m.Answer)
		if len(got) != 1 || got[0].Value != text {
			t.Fatalf("TXT %q read back as %v", text, got)
		}
	})
}

// FuzzReply checks that no reply, however malformed, panics the checks or
// yields a record that is not at the asked name.
func FuzzReply(f *testing.F) {
	req := new(dns.Msg)
	req.SetQuestion("_mta-sts.example.com.", dns.TypeTXT)
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	for _, line := range present {
		rr, _ := dns.NewRR(line)
		resp.Answer = append(resp.Answer, rr)
	}
	wire, _ := resp.Pack()
	f.Add(wire)
	f.Add(txtMessage([][]byte{[]byte("x")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m dns.Msg
		if m.Unpack(data) != nil {
			return
		}
		m.Id = req.Id
		if checkReply(req, &m) != nil || checkAuthoritative(&m) != nil {
			return
		}
		for _, r := range ownRecords("_mta-sts.example.com.", dns.TypeTXT, m.Answer) {
			if r.Name != "_mta-sts.example.com." || (r.Type != "TXT" && r.Type != "CNAME") {
				t.Fatalf("kept %+v for another name or type", r)
			}
			if r.Type == "CNAME" && (r.Value != strings.ToLower(r.Value) || !strings.HasSuffix(r.Value, ".")) {
				t.Fatalf("CNAME target %q not canonical", r.Value)
			}
		}
	})
}

// txtAndCNAME asks each name for its TXT and CNAME records, as the MTA-STS
// kinds do.
func txtAndCNAME(names ...string) []reconcile.Query {
	out := make([]reconcile.Query, len(names))
	for i, n := range names {
		out[i] = reconcile.Query{Name: n, Types: []string{"TXT"}}
	}
	return out
}

// TestOwnRecordsFollowTheKinds: a kind's own type (TLSA here) comes back
// canonical, the CNAME at the name too, and other types are dropped.
func TestOwnRecordsFollowTheKinds(t *testing.T) {
	const name = "_25._tcp.mx.example.com."
	var answer []dns.RR
	for _, s := range []string{
		name + " 300 IN TLSA 3 1 1 ABCDEF0123",
		name + " 300 IN TXT \"not asked for\"",
		"other.example.com. 300 IN TLSA 3 1 1 00",
	} {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		answer = append(answer, rr)
	}
	got := ownRecords(name, dns.TypeTLSA, answer)
	if len(got) != 1 || got[0].Type != "TLSA" || got[0].Value != "3 1 1 abcdef0123" {
		t.Errorf("ownRecords(TLSA) = %+v, want one TLSA 3 1 1 abcdef0123", got)
	}
	owners, err := ownerNames("example.com.", []reconcile.Query{{Name: name, Types: []string{"TLSA"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 1 || !slices.Equal(owners[0].types, []uint16{dns.TypeCNAME, dns.TypeTLSA}) {
		t.Errorf("asks %+v, want CNAME and TLSA", owners)
	}
	if _, err := ownerNames("example.com.", []reconcile.Query{{Name: name, Types: []string{"BOGUS"}}}); err == nil || !strings.Contains(err.Error(), "BOGUS") {
		t.Errorf("unknown type: err = %v", err)
	}
}

// TestRecordsBINDZoneCuts: names below a delegation, a DNAME or a child
// zone the same server serves are never read as the parent zone's: each
// is doubt, so the DNS shortcut falls back to the provider, whose zone
// read reports the cut.
func TestRecordsBINDZoneCuts(t *testing.T) {
	const zone = "example.test."
	s := testbind.Start(t,
		testbind.Zone{Name: zone, Records: []string{
			"sub.example.test. 300 IN NS ns.elsewhere.test.",
			"dn.example.test. 300 IN DNAME example.test.",
			"child.example.test. 300 IN NS ns1.example.test.",
			"ns1.example.test. 300 IN A 127.0.0.1",
			`_mta-sts.example.test. 300 IN TXT "v=STSv1; id=1"`,
			`_smtp._tls.example.test. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@example.test"`,
		}},
		testbind.Zone{Name: "child.example.test.", Records: []string{
			`_mta-sts.child.example.test. 300 IN TXT "v=STSv1; id=1"`,
		}},
	)
	tests := []struct {
		name    string
		names   []string
		wantErr string
	}{
		{"names of the zone itself", []string{"_mta-sts.example.test.", "_smtp._tls.example.test.", "mta-sts.example.test."}, ""},
		{"below a delegation: a referral", []string{"_mta-sts.sub.example.test."}, "lacks the AA bit"},
		// dn.example.test. DNAME example.test. makes _mta-sts.dn.example.test.
		// a CNAME to _mta-sts.example.test.: the delegated layout's very form.
		{"below a DNAME", []string{"_mta-sts.dn.example.test."}, "synthesised from the DNAME at dn.example.test. (to example.test.)"},
		{"in a child zone on the same server", []string{"_mta-sts.child.example.test.", "mtasts-sync-wildcard-probe.child.example.test."}, "answer from zone child.example.test., not example.test."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{Resolver: s.Addr}).Records(t.Context(), zone, txtAndCNAME(tt.names...))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Records() error = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Records() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
