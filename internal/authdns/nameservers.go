package authdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// nameserverPort is where authoritative servers listen.
const nameserverPort = "53"

// servers returns the addresses ("host:port") to ask for zone, sorted so
// that errors name servers in a stable order.
func (c *Client) servers(ctx context.Context, zone string) ([]string, error) {
	if c.opts.Resolver != "" {
		return []string{c.opts.Resolver}, nil
	}
	resolvers, err := c.nsResolvers()
	if err != nil {
		return nil, fmt.Errorf("zone %s: %w", zone, err)
	}
	hosts, err := c.lookupNS(ctx, resolvers, zone)
	if err != nil {
		return nil, fmt.Errorf("zone %s: %w", zone, err)
	}

	types := []uint16{dns.TypeA, dns.TypeAAAA}
	if c.opts.IPv4Only {
		types = types[:1]
	}
	var mu sync.Mutex
	addrs := map[string][]string{} // NS host -> addresses
	var jobs []func(context.Context) error
	for _, host := range hosts {
		for _, qtype := range types {
			jobs = append(jobs, func(ctx context.Context) error {
				ips, err := c.lookupAddrs(ctx, resolvers, host, qtype)
				if err != nil {
					return fmt.Errorf("zone %s: nameserver %s: %w", zone, host, err)
				}
				mu.Lock()
				defer mu.Unlock()
				addrs[host] = append(addrs[host], ips...)
				return nil
			})
		}
	}
	if err := runAll(ctx, jobs); err != nil {
		return nil, err
	}

	var out []string
	for _, host := range hosts {
		if len(addrs[host]) == 0 {
			kinds := "A or AAAA"
			if c.opts.IPv4Only {
				kinds = "A"
			}
			return nil, fmt.Errorf("zone %s: nameserver %s has no %s address: fix the NS record or its address", zone, host, kinds)
		}
		for _, ip := range addrs[host] {
			out = append(out, net.JoinHostPort(ip, nameserverPort))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// nsResolvers returns the recursive resolvers used to find nameservers.
func (c *Client) nsResolvers() ([]string, error) {
	if c.opts.NSResolver != "" {
		return []string{c.opts.NSResolver}, nil
	}
	cfg, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil {
		return nil, fmt.Errorf("read %s to find the nameservers: %w: set a resolver explicitly", resolvConf, err)
	}
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("%s lists no nameserver: set a resolver explicitly", resolvConf)
	}
	out := make([]string, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		out = append(out, net.JoinHostPort(s, cfg.Port))
	}
	return out, nil
}

// lookupNS returns the zone's nameserver host names, sorted and distinct.
func (c *Client) lookupNS(ctx context.Context, resolvers []string, zone string) ([]string, error) {
	resp, err := c.recursive(ctx, resolvers, zone, dns.TypeNS)
	if err != nil {
		return nil, err
	}
	if resp.Rcode == dns.RcodeNameError {
		return nil, fmt.Errorf("NS lookup: the zone does not exist (NXDOMAIN): check the zone name")
	}
	var hosts []string
	for _, rr := range resp.Answer {
		if ns, ok := rr.(*dns.NS); ok && strings.EqualFold(dns.Fqdn(ns.Hdr.Name), zone) {
			hosts = append(hosts, canonical(ns.Ns))
		}
	}
	if len(hosts) == 0 {
		return nil, errors.New("NS lookup: no NS records at the zone apex: is this the zone's apex?")
	}
	slices.Sort(hosts)
	return slices.Compact(hosts), nil
}

// lookupAddrs returns the addresses of host of type qtype (A or AAAA); none
// is not an error here, since a host may have only one family.
func (c *Client) lookupAddrs(ctx context.Context, resolvers []string, host string, qtype uint16) ([]string, error) {
	resp, err := c.recursive(ctx, resolvers, host, qtype)
	if err != nil {
		return nil, err
	}
	// The resolver follows CNAMEs, so any address in the answer to this
	// question is host's.
	var ips []string
	for _, rr := range resp.Answer {
		switch v := rr.(type) {
		case *dns.A:
			if qtype == dns.TypeA {
				ips = append(ips, v.A.String())
			}
		case *dns.AAAA:
			if qtype == dns.TypeAAAA {
				ips = append(ips, v.AAAA.String())
			}
		}
	}
	return ips, nil
}

// recursive asks the resolvers in turn (RD set) until one gives NOERROR or
// NXDOMAIN, and returns that answer.
func (c *Client) recursive(ctx context.Context, resolvers []string, name string, qtype uint16) (*dns.Msg, error) {
	var errs []error
	for _, r := range resolvers {
		resp, err := c.query(ctx, r, name, qtype, true)
		if err == nil && resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
			err = fmt.Errorf("resolver %s, %s %s: answered %s", r, dns.TypeToString[qtype], name, rcodeName(resp.Rcode))
		}
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}
