// Package fakedns is an authoritative DNS server on loopback that serves the
// zones of local provider fakes (fakeapi.Fake) from their live content, the
// way a real provider's nameservers serve what its API holds: a record
// written through the fake's API is in the next answer. Answers carry the
// AA bit; NXDOMAIN and NODATA come with the zone's SOA; a CNAME is followed
// within its zone. It is for tests and the benchmark harness only.
//
// Below a delegation (NS records at a name under the apex) it answers as
// a real parent does: a referral, without the AA bit, whatever the zone
// holds there. Not modelled: DNAME synthesis, wildcards, DNSSEC. There
// is no propagation delay, with one exception: a query that races an API
// write (the middleware counts a request before its latency and before the
// change lands) may cache the zone as it was before that write, until the
// next write or Invalidate; query after writes complete, as the harness does.
package fakedns

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
)

// maxChase bounds the CNAME chain followed inside a zone, so a loop in the
// seeded data cannot hang a query.
const maxChase = 8

// Server answers queries for the zones it was given, on one loopback port
// for both UDP and TCP. It is safe for concurrent use.
type Server struct {
	addr     string
	udp, tcp *dns.Server

	mu    sync.Mutex
	zones map[string]*zone // by canonical name with the trailing dot

	queries atomic.Int64
	parses  atomic.Int64
	gen     atomic.Uint64
}

// zone is one served zone and its last parsed content. A fake's Dump
// renders the whole zone (about 9 µs a record on the Cloudflare fake: 26 ms
// for 3,000 records), so it is not called per query: the content is kept
// while the fake's middleware has seen no write and Invalidate was not
// called. A fake without a middleware is dumped on every query, and parsed
// again only when the dump differs.
type zone struct {
	name string
	fake fakeapi.Fake

	mu      sync.Mutex
	version version
	dump    []string
	content *content
}

// version is what must stay equal for a cached parse to be current.
type version struct {
	writes int    // the fake's middleware's write count
	gen    uint64 // the server's Invalidate count
}

// content is one parse of a zone's dump.
type content struct {
	byName map[string][]dns.RR // by lower-case owner name
	// exists holds every owner name and every empty non-terminal above
	// one (e.g. _tls.example.com. above _smtp._tls.example.com.): a query
	// for an empty non-terminal is NODATA, not NXDOMAIN.
	exists map[string]bool
	soa    *dns.SOA
}

// Start serves zones (zone name -> the fake holding it) on 127.0.0.1 on a
// free port shared by UDP and TCP. Close stops it.
func Start(zones map[string]fakeapi.Fake) (*Server, error) {
	s := &Server{zones: map[string]*zone{}}
	for name, f := range zones {
		s.AddZone(name, f)
	}
	// Pick a port free for both protocols: the UDP port the kernel gives
	// may be taken for TCP, so try a few.
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("fakedns: listening on UDP: %w", err)
		}
		// A run asks thousands of questions at once; the default socket
		// buffer (208 KiB) drops some, and each drop costs the client a
		// timeout.
		if uc, ok := pc.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(4 << 20)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			lastErr = err
			continue
		}
		s.addr = pc.LocalAddr().String()
		handler := dns.HandlerFunc(s.serveDNS)
		s.udp = &dns.Server{PacketConn: pc, Handler: handler}
		s.tcp = &dns.Server{Listener: l, Handler: handler}
		started := make(chan struct{}, 2)
		s.udp.NotifyStartedFunc = func() { started <- struct{}{} }
		s.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
		go func() { _ = s.udp.ActivateAndServe() }()
		go func() { _ = s.tcp.ActivateAndServe() }()
		<-started
		<-started
		return s, nil
	}
	return nil, fmt.Errorf("fakedns: no loopback port free for both UDP and TCP: %w", lastErr)
}

// AddZone serves zone from f, replacing any fake that served it before.
func (s *Server) AddZone(name string, f fakeapi.Fake) {
	name = canonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zones[name] = &zone{name: name, fake: f}
}

// Addr is the server's "host:port", for --resolver.
func (s *Server) Addr() string { return s.addr }

// Queries is the number of queries answered so far.
func (s *Server) Queries() int64 { return s.queries.Load() }

// Parses is the number of times a zone's dump was parsed, i.e. the number
// of times the cache missed.
func (s *Server) Parses() int64 { return s.parses.Load() }

// Invalidate makes the next query of every zone read its fake again. Call
// it after changing a fake other than through its HTTP API (Seed, SeedRaw,
// AddZone) or after its middleware's ResetCounts: neither shows up as a
// write.
func (s *Server) Invalidate() { s.gen.Add(1) }

// Close stops both listeners.
func (s *Server) Close() error {
	return errors.Join(s.udp.Shutdown(), s.tcp.Shutdown())
}

func canonical(name string) string {
	return strings.ToLower(dns.Fqdn(strings.TrimSpace(name)))
}

// zoneFor returns the served zone that holds name: the longest match.
func (s *Server) zoneFor(name string) *zone {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := name; ; n = parent(n) {
		if z := s.zones[n]; z != nil {
			return z
		}
		if n == "." {
			return nil
		}
	}
}

// parent drops the first label of an absolute name: "a.b." -> "b.", "b." -> ".".
func parent(name string) string {
	i := strings.IndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return "."
	}
	return name[i+1:]
}

func (s *Server) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	resp := s.answer(req, w.RemoteAddr().Network())
	_ = w.WriteMsg(resp)
}

// answer builds the reply to req, received over network ("udp" or "tcp").
func (s *Server) answer(req *dns.Msg, network string) *dns.Msg {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = false
	if req.Opcode != dns.OpcodeQuery {
		resp.Rcode = dns.RcodeNotImplemented
		return resp
	}
	if len(req.Question) != 1 {
		resp.Rcode = dns.RcodeFormatError
		return resp
	}
	opt := req.IsEdns0()
	if opt != nil {
		resp.SetEdns0(dns.DefaultMsgSize, false)
	}
	q := req.Question[0]
	qname := canonical(q.Name)
	z := s.zoneFor(qname)
	if z == nil || q.Qclass != dns.ClassINET {
		// Not authoritative: what a real authoritative-only server says.
		resp.Rcode = dns.RcodeRefused
		return resp
	}
	c, err := z.current(s.gen.Load(), &s.parses)
	if err != nil {
		resp.Rcode = dns.RcodeServerFailure
		return resp
	}
	if ns := c.delegation(z.name, qname); ns != nil {
		for _, rr := range ns {
			resp.Ns = append(resp.Ns, dns.Copy(rr))
		}
	} else {
		resp.Authoritative = true
		c.resolve(resp, z.name, qname, q.Qtype)
	}
	if network == "udp" {
		size := dns.MinMsgSize
		if opt != nil {
			size = max(int(opt.UDPSize()), dns.MinMsgSize)
		}
		resp.Truncate(size)
	}
	return resp
}

// delegation returns the NS records of the zone cut at or above qname
// (the one nearest the apex), or nil when qname is the zone's own.
func (c *content) delegation(zoneName, qname string) []dns.RR {
	var cut []dns.RR
	for n := qname; n != zoneName && n != "."; n = parent(n) {
		var ns []dns.RR
		for _, rr := range c.byName[n] {
			if rr.Header().Rrtype == dns.TypeNS {
				ns = append(ns, rr)
			}
		}
		if ns != nil {
			cut = ns
		}
	}
	return cut
}

// resolve fills resp's answer for qname/qtype, following CNAMEs inside
// the zone, and sets NXDOMAIN or the SOA for NODATA.
func (c *content) resolve(resp *dns.Msg, zoneName, qname string, qtype uint16) {
	name := qname
	for range maxChase {
		rrs := c.byName[name]
		var cname *dns.CNAME
		matched := false
		for _, rr := range rrs {
			t := rr.Header().Rrtype
			switch {
			case t == qtype || qtype == dns.TypeANY:
				resp.Answer = append(resp.Answer, dns.Copy(rr))
				matched = true
			case t == dns.TypeCNAME:
				cname = rr.(*dns.CNAME)
			}
		}
		switch {
		case matched:
			return
		case cname != nil:
			resp.Answer = append(resp.Answer, dns.Copy(cname))
			target := canonical(cname.Target)
			if !dns.IsSubDomain(zoneName, target) {
				return // the resolver follows it elsewhere
			}
			name = target
			continue
		case !c.exists[name]:
			// RFC 6604: the rcode is that of the last name in the chain.
			resp.Rcode = dns.RcodeNameError
		}
		// NODATA (or NXDOMAIN): the SOA tells resolvers how long to cache it.
		if c.soa != nil {
			resp.Ns = append(resp.Ns, dns.Copy(c.soa))
		}
		return
	}
}

// current returns the zone's parsed content, reading the fake again only
// when it may have changed.
func (z *zone) current(gen uint64, parses *atomic.Int64) (*content, error) {
	v := version{gen: gen, writes: -1}
	if mw := z.fake.Middleware(); mw != nil {
		v.writes = mw.Writes()
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.content != nil && v.writes >= 0 && v == z.version {
		return z.content, nil
	}
	dump := z.fake.Dump(strings.TrimSuffix(z.name, "."))
	z.version = v
	if z.content != nil && slices.Equal(dump, z.dump) {
		return z.content, nil
	}
	c, err := parse(z.name, dump)
	if err != nil {
		return nil, err
	}
	parses.Add(1)
	z.dump, z.content = dump, c
	return c, nil
}

// parse indexes a dump by owner name. A zone without an SOA (Cloudflare's
// API lists none) gets one made up, as the real nameservers serve one.
func parse(zoneName string, dump []string) (*content, error) {
	c := &content{byName: map[string][]dns.RR{}, exists: map[string]bool{zoneName: true}}
	for _, line := range dump {
		rr, err := dns.NewRR(line)
		if err != nil {
			return nil, fmt.Errorf("zone %s: dump line %q: %w", zoneName, line, err)
		}
		if rr == nil {
			continue
		}
		owner := canonical(rr.Header().Name)
		if !dns.IsSubDomain(zoneName, owner) {
			return nil, fmt.Errorf("zone %s: dump line %q: owner is outside the zone", zoneName, line)
		}
		if soa, ok := rr.(*dns.SOA); ok && owner == zoneName {
			c.soa = soa
		}
		c.byName[owner] = append(c.byName[owner], rr)
		for n := owner; n != zoneName && n != "."; n = parent(n) {
			c.exists[n] = true
		}
	}
	if c.soa == nil {
		c.soa = &dns.SOA{
			Hdr:     dns.RR_Header{Name: zoneName, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600},
			Ns:      "ns1.fakedns.invalid.",
			Mbox:    "hostmaster." + zoneName,
			Serial:  1,
			Refresh: 10000,
			Retry:   2400,
			Expire:  604800,
			Minttl:  300,
		}
	}
	return c, nil
}
