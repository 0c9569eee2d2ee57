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

// maxCNAMEHops bounds CNAME chasing so a loop or a runaway chain ends with a
// clear error instead of hanging the check.
const maxCNAMEHops = 8

// queryTimeout bounds one DNS exchange; miekg/dns would otherwise use 2 s per
// dial/read/write, which is fine, but a single explicit bound is easier to reason about.
const queryTimeout = 5 * time.Second

// resolvConf is where the system resolver is configured when Options.Resolver is empty.
const resolvConf = "/etc/resolv.conf"

// resolver sends recursive queries to one configured server, or to the
// servers of /etc/resolv.conf in order.
type resolver struct {
	server string
}

// answer is what a lookup found: the CNAME hops it followed and the records
// of the asked type at the end of the chain.
type answer struct {
	chain []string
	rrs   []dns.RR
}

// rcodeError is a DNS answer with a non-success response code (NXDOMAIN, SERVFAIL, …).
type rcodeError struct {
	name  string
	qtype uint16
	rcode int
}

func (e *rcodeError) Error() string {
	return fmt.Sprintf("DNS %s lookup of %s: %s", dns.TypeToString[e.qtype], e.name, dns.RcodeToString[e.rcode])
}

// isNXDomain reports whether err says the name does not exist.
func isNXDomain(err error) bool {
	var re *rcodeError
	return errors.As(err, &re) && re.rcode == dns.RcodeNameError
}

// lookup resolves name/qtype, following CNAMEs both inside one answer (as a
// recursive resolver returns them) and across queries (as an authoritative
// server returns them), so delegated `_mta-sts` records work either way.
func (r *resolver) lookup(ctx context.Context, name string, qtype uint16) (answer, error) {
	var a answer
	cur := canonical(name)
	seen := map[string]bool{cur: true}
	for hop := 0; hop <= maxCNAMEHops; hop++ {
		msg, err := r.exchange(ctx, cur, qtype)
		if err != nil {
			return a, fmt.Errorf("DNS %s lookup of %s: %w", dns.TypeToString[qtype], cur, err)
		}
		asked := cur
		for {
			target, ok := cnameOf(msg.Answer, cur)
			if !ok {
				break
			}
			if seen[target] {
				return a, fmt.Errorf("DNS %s lookup of %s: CNAME loop at %s: fix the CNAME records", dns.TypeToString[qtype], canonical(name), target)
			}
			seen[target] = true
			a.chain = append(a.chain, target)
			cur = target
			if len(a.chain) > maxCNAMEHops {
				return a, fmt.Errorf("DNS %s lookup of %s: more than %d CNAME hops: shorten the chain", dns.TypeToString[qtype], canonical(name), maxCNAMEHops)
			}
		}
		if msg.Rcode != dns.RcodeSuccess {
			return a, &rcodeError{name: cur, qtype: qtype, rcode: msg.Rcode}
		}
		for _, rr := range msg.Answer {
			if rr.Header().Rrtype == qtype && canonical(rr.Header().Name) == cur {
				a.rrs = append(a.rrs, rr)
			}
		}
		if len(a.rrs) > 0 || cur == asked {
			return a, nil
		}
		// The answer ended in a CNAME without the target's records: ask for the target.
	}
	return a, fmt.Errorf("DNS %s lookup of %s: more than %d CNAME hops: shorten the chain", dns.TypeToString[qtype], canonical(name), maxCNAMEHops)
}

// cnameOf returns the target of the CNAME owned by name in rrs.
func cnameOf(rrs []dns.RR, name string) (string, bool) {
	for _, rr := range rrs {
		if c, ok := rr.(*dns.CNAME); ok && canonical(c.Hdr.Name) == name {
			return canonical(c.Target), true
		}
	}
	return "", false
}

// canonical lower-cases a DNS name and drops the trailing dot, the form used in reasons.
func canonical(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// exchange sends one recursive query, over UDP first and TCP when the answer is truncated.
func (r *resolver) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	servers, err := r.servers()
	if err != nil {
		return nil, err
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.RecursionDesired = true
	q.SetEdns0(1232, false)
	var lastErr error
	for _, server := range servers {
		msg, err := exchangeWith(ctx, q, server)
		if err == nil {
			return msg, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func exchangeWith(ctx context.Context, q *dns.Msg, server string) (*dns.Msg, error) {
	udp := &dns.Client{Net: "udp", Timeout: queryTimeout}
	msg, _, err := udp.ExchangeContext(ctx, q, server)
	if err == nil && !msg.Truncated {
		return msg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", server, err)
	}
	tcp := &dns.Client{Net: "tcp", Timeout: queryTimeout}
	msg, _, err = tcp.ExchangeContext(ctx, q, server)
	if err != nil {
		return nil, fmt.Errorf("server %s (TCP after truncated UDP answer): %w", server, err)
	}
	return msg, nil
}

func (r *resolver) servers() ([]string, error) {
	if r.server != "" {
		return []string{r.server}, nil
	}
	cfg, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w: pass a resolver (host:port) explicitly", resolvConf, err)
	}
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("%s lists no nameserver: pass a resolver (host:port) explicitly", resolvConf)
	}
	out := make([]string, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		out = append(out, net.JoinHostPort(s, cfg.Port))
	}
	return out, nil
}

// txtValues joins each TXT record's character-strings without spaces, as RFC 8461 §3.1 and RFC 8460 §3 require.
func txtValues(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out
}
