package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// attemptTimeout bounds one connection attempt to one address, so a
// black-holed address (often IPv6) leaves time for the next one.
const attemptTimeout = 10 * time.Second

// HostLookupError says a host we must connect to (the policy host or an MX)
// has no address in the resolver the check uses.
type HostLookupError struct {
	Host     string
	Resolver string // "host:port", or "" for the servers of /etc/resolv.conf
	Err      error  // the lookup error; nil when the name exists but has no A or AAAA record
}

func (e *HostLookupError) Error() string {
	where := "the system's resolvers (" + resolvConf + ")"
	if e.Resolver != "" {
		where = "resolver " + e.Resolver
	}
	if e.Err != nil {
		return fmt.Sprintf("cannot resolve %s through %s: %v", e.Host, where, e.Err)
	}
	return fmt.Sprintf("%s has no A or AAAA record in %s", e.Host, where)
}

func (e *HostLookupError) Unwrap() error { return e.Err }

// dial connects to addr ("host:port") for a policy fetch or an SMTP probe.
// The host is resolved through the Checker's resolver — the same one that
// answered the record lookups — so a check sees one world, as a sending MTA
// does; each address is tried in turn (IPv4 first). An Options.Dialer given
// by the caller is handed the host name as is and resolves it itself.
func (c *Checker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.opts.Dialer != nil {
		return c.opts.Dialer.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := c.dns.addresses(ctx, host)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, ip := range ips {
		d := net.Dialer{Timeout: attemptTimeout}
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip, port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("%s (%s): %w", host, strings.Join(ips, ", "), errors.Join(errs...))}
}

// addresses resolves host to its IPv4 then IPv6 addresses, following
// CNAMEs; an IP literal is returned as is.
func (r *resolver) addresses(ctx context.Context, host string) ([]string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []string{ip.String()}, nil
	}
	var ips []string
	var firstErr error
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		a, err := r.lookup(ctx, host, qtype)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			if isNXDomain(err) {
				break // no AAAA either
			}
			continue
		}
		for _, rr := range a.rrs {
			switch v := rr.(type) {
			case *dns.A:
				ips = append(ips, v.A.String())
			case *dns.AAAA:
				ips = append(ips, v.AAAA.String())
			}
		}
	}
	if len(ips) > 0 {
		return ips, nil
	}
	return nil, &HostLookupError{Host: canonical(host), Resolver: r.server, Err: firstErr}
}
