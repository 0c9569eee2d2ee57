package checktest

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// DNS is a DNS server on 127.0.0.1 (UDP and TCP on one port) answering from fixed records.
type DNS struct {
	// Addr is "127.0.0.1:port", for check.Options.Resolver.
	Addr string
	h    *handler
}

// TCPQueries is how many queries arrived over TCP, to prove a truncated UDP answer was retried.
func (d *DNS) TCPQueries() int64 { return d.h.tcp.Load() }

// DNSConfig is what a DNS server answers.
type DNSConfig struct {
	// Records in zone-file syntax, e.g. `_mta-sts.example.com. 300 IN TXT "v=STSv1; id=1"`.
	Records []string
	// Rcodes forces a response code (e.g. dns.RcodeServerFailure) for a name (with trailing dot, any case).
	Rcodes map[string]int
	// Recursive makes the server chase CNAMEs inside its records and return
	// the whole chain, as a recursive resolver does; otherwise it answers like
	// an authoritative server, with the CNAME alone.
	Recursive bool
}

// StartDNS starts a DNS server for the test; it stops when the test ends.
func StartDNS(t testing.TB, cfg DNSConfig) *DNS {
	t.Helper()
	h := &handler{rcodes: map[string]int{}, recursive: cfg.Recursive}
	for _, s := range cfg.Records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("checktest: record %q: %v", s, err)
		}
		h.rrs = append(h.rrs, rr)
	}
	for name, code := range cfg.Rcodes {
		h.rcodes[dns.CanonicalName(name)] = code
	}

	pc, ln := listenUDPAndTCP(t)
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return &DNS{Addr: pc.LocalAddr().String(), h: h}
}

// listenUDPAndTCP binds UDP and TCP on one loopback port, retrying when the
// TCP side of a free UDP port is taken by someone else.
func listenUDPAndTCP(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("checktest: DNS UDP listener: %v", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
		lastErr = err
	}
	t.Fatalf("checktest: DNS TCP listener: %v", lastErr)
	return nil, nil
}

type handler struct {
	rrs       []dns.RR
	rcodes    map[string]int
	recursive bool
	tcp       atomic.Int64
}

func (h *handler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if len(req.Question) == 1 {
		h.answer(m, req.Question[0])
		if len(m.Answer) == 0 {
			h.authority(m, req.Question[0].Name)
		}
	} else {
		m.Rcode = dns.RcodeFormatError
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); !udp {
		h.tcp.Add(1)
	} else {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

func (h *handler) answer(m *dns.Msg, q dns.Question) {
	name := dns.CanonicalName(q.Name)
	for hop := 0; hop < 16; hop++ {
		if code, ok := h.rcodes[name]; ok {
			m.Rcode = code
			return
		}
		if !h.exists(name) {
			m.Rcode = dns.RcodeNameError
			return
		}
		var cname *dns.CNAME
		for _, rr := range h.rrs {
			if dns.CanonicalName(rr.Header().Name) != name {
				continue
			}
			if c, ok := rr.(*dns.CNAME); ok && q.Qtype != dns.TypeCNAME {
				cname = c
			}
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		if cname == nil {
			return
		}
		m.Answer = append(m.Answer, cname)
		if !h.recursive {
			return
		}
		name = dns.CanonicalName(cname.Target)
	}
}

// authority puts the SOA of the zone holding name (the longest owner of an
// SOA record that name is in) into the authority section, as servers do
// for NXDOMAIN and empty answers: it is how a client learns the zone apex.
func (h *handler) authority(m *dns.Msg, name string) {
	var best dns.RR
	name = dns.CanonicalName(name)
	for _, rr := range h.rrs {
		if rr.Header().Rrtype != dns.TypeSOA {
			continue
		}
		owner := dns.CanonicalName(rr.Header().Name)
		if dns.IsSubDomain(owner, name) && (best == nil || len(owner) > len(best.Header().Name)) {
			best = rr
		}
	}
	if best != nil {
		m.Ns = append(m.Ns, best)
	}
}

// exists reports whether name owns records or is an empty non-terminal above some.
func (h *handler) exists(name string) bool {
	for _, rr := range h.rrs {
		owner := dns.CanonicalName(rr.Header().Name)
		if owner == name || strings.HasSuffix(owner, "."+name) {
			return true
		}
	}
	return false
}
