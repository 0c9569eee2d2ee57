package testbind

import (
	"context"
	"fmt"
	"net"
	"slices"

	"github.com/libdns/rfc2136"
	"github.com/miekg/dns"
)

// Dump transfers the zone (AXFR, TSIG-signed) and returns its records as
// miekg presentation lines, sorted, with the SOA once and its serial zeroed
// so that a before/after comparison ignores the serial BIND bumps on update.
func (s *Server) Dump(ctx context.Context, zone string) ([]string, error) {
	zone = dns.Fqdn(zone)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("zone %s: dial %s: %w", zone, s.Addr, err)
	}
	// Transfer sets its own per-message deadlines, so cancellation closes
	// the connection instead.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	tr := &dns.Transfer{
		Conn:       &dns.Conn{Conn: conn},
		TsigSecret: map[string]string{dns.Fqdn(s.KeyName): s.Secret},
	}
	msg := new(dns.Msg)
	msg.SetAxfr(zone)
	msg.SetTsig(dns.Fqdn(s.KeyName), dns.Fqdn(s.KeyAlg), 300, 0)
	envs, err := tr.In(msg, s.Addr)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("zone %s: start AXFR from %s: %w", zone, s.Addr, err)
	}

	var lines []string
	var firstErr error
	seenSOA := false
	// Drain the channel even after an error so the transfer goroutine ends.
	for env := range envs {
		if env.Error != nil {
			if firstErr == nil {
				firstErr = env.Error
			}
			continue
		}
		for _, rr := range env.RR {
			if soa, ok := rr.(*dns.SOA); ok {
				if seenSOA {
					continue // AXFR ends with the SOA again
				}
				seenSOA = true
				soa = dns.Copy(soa).(*dns.SOA)
				soa.Serial = 0
				rr = soa
			}
			lines = append(lines, rr.String())
		}
	}
	if firstErr != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("zone %s: AXFR from %s: %w", zone, s.Addr, ctx.Err())
		}
		return nil, fmt.Errorf("zone %s: AXFR from %s: %w", zone, s.Addr, firstErr)
	}
	slices.Sort(lines)
	return lines, nil
}

// Provider returns the unmodified libdns RFC 2136 client configured for this
// server.
func (s *Server) Provider() *rfc2136.Provider {
	return &rfc2136.Provider{
		KeyName: s.KeyName,
		KeyAlg:  s.KeyAlg,
		Key:     s.Secret,
		Server:  s.Addr,
	}
}
