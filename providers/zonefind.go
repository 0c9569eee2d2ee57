package providers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// FindZone finds the zone domain lives in at this provider: the longest
// zone the account lists that equals or contains the domain, or, where the
// provider cannot list zones, the owner of the SOA that DNS gives for the
// domain (asking resolver, "host:port"; "" is the system's resolver).
func (p *Provider) FindZone(ctx context.Context, domain, resolver string) (string, error) {
	zones, ok, err := p.ListZones(ctx)
	if err != nil {
		return "", fmt.Errorf("finding the zone of %s at provider %s: %w", domain, p.Name, err)
	}
	if ok {
		best := ""
		for _, z := range zones {
			if (domain == z || strings.HasSuffix(domain, "."+z)) && len(z) > len(best) {
				best = z
			}
		}
		if best == "" {
			return "", fmt.Errorf("provider %s holds no zone for %s (it holds %d zones): add the zone there, or map the domain under zones:", p.Name, domain, len(zones))
		}
		return best, nil
	}
	zone, err := SOAZone(ctx, domain, resolver)
	if err != nil {
		return "", fmt.Errorf("finding the zone of %s through DNS: %w (map the domain under zones: to skip the lookup)", domain, err)
	}
	return zone, nil
}

// SOAZone asks DNS for the SOA of domain and returns its owner: the zone
// the domain lives in, lower-case without the trailing dot.
func SOAZone(ctx context.Context, domain, resolver string) (string, error) {
	if resolver == "" {
		conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(conf.Servers) == 0 {
			return "", errors.New("no resolver configured: pass --resolver host:port")
		}
		resolver = net.JoinHostPort(conf.Servers[0], conf.Port)
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(domain), dns.TypeSOA)
	c := &dns.Client{Timeout: 5 * time.Second}
	in, _, err := c.ExchangeContext(ctx, m, resolver)
	if err != nil {
		return "", fmt.Errorf("asking %s for the SOA of %s: %w", resolver, domain, err)
	}
	if in.Rcode != dns.RcodeSuccess {
		return "", fmt.Errorf("asking %s for the SOA of %s: %s", resolver, domain, dns.RcodeToString[in.Rcode])
	}
	for _, rr := range append(in.Answer, in.Ns...) {
		if soa, ok := rr.(*dns.SOA); ok {
			return strings.ToLower(strings.TrimSuffix(soa.Hdr.Name, ".")), nil
		}
	}
	return "", fmt.Errorf("%s gave no SOA for %s", resolver, domain)
}
