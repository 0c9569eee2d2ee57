// Package authdns asks a zone's authoritative nameservers for the records at
// a few names, so that a run can skip a rate-limited provider API when DNS
// already shows the desired state. It answers only when it is sure: every
// doubt (a timeout, a cache answering, servers that disagree) is an error,
// and the caller falls back to the API.
package authdns

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

const (
	defaultTimeout = 3 * time.Second
	// maxInFlight bounds the queries of one Records call; the engine runs
	// many calls at once, so a zone with many servers must not flood them.
	maxInFlight = 8
	// ednsSize is the DNS Flag Day 2020 buffer size: large enough for our
	// answers, small enough to avoid IP fragmentation.
	ednsSize = 1232
	// resolvConf is where the system resolver is configured.
	resolvConf = "/etc/resolv.conf"
)

// ExchangeFunc sends one query to server ("host:port") over network ("udp"
// or "tcp") and returns the reply as received.
type ExchangeFunc func(ctx context.Context, network, server string, msg *dns.Msg) (*dns.Msg, error)

// Options configures a Client. The zero value asks the nameservers found
// through the system resolver.
type Options struct {
	// Resolver, when set ("host:port"), is the only server asked (users
	// point it at their primary; tests at a loopback server). Its answers
	// must still be authoritative. Otherwise the zone's NS set is looked up
	// and every NS address (A and AAAA) is asked.
	Resolver string
	// NSResolver ("host:port") is the recursive resolver used to look up
	// the zone's NS set and the nameservers' addresses. Default: the
	// servers in /etc/resolv.conf. Unused when Resolver is set.
	NSResolver string
	// IPv4Only skips the nameservers' AAAA addresses, for hosts without an
	// IPv6 route, where every IPv6 query would fail and the shortcut would
	// never apply.
	IPv4Only bool
	// Timeout bounds each query (each UDP or TCP exchange); default 3 s.
	Timeout time.Duration
	// Exchange, when set, replaces the network exchange (tests only; keep
	// nil in production).
	Exchange ExchangeFunc
}

// Client asks authoritative nameservers for records. It is safe for
// concurrent use.
type Client struct {
	opts Options
}

// New returns a Client for opts.
func New(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	return &Client{opts: opts}
}

// Records asks the authoritative servers of zone for the records each
// query names (FQDNs inside zone, with the record types that matter there:
// the kinds' types, reconcile.Spec.Queries). For each name it queries each
// type and keeps answer records whose owner is the name (a CNAME in the
// answer to a TXT query is kept: it is at the name). It
// returns the records every server agrees on, sorted, with the smallest TTL
// any server gave; Raw is empty since these records did not come from a
// provider. NXDOMAIN and NODATA mean no records. Anything that leaves doubt
// is an error: a timeout or network error, an rcode other than NOERROR or
// NXDOMAIN, an answer without the AA bit, a truncated answer not recovered
// over TCP, servers that disagree, a zone without NS or an NS without
// address.
func (c *Client) Records(ctx context.Context, zone string, queries []reconcile.Query) ([]reconcile.Record, error) {
	zone = canonical(zone)
	if _, ok := dns.IsDomainName(zone); !ok {
		return nil, fmt.Errorf("zone %q: not a valid domain name", zone)
	}
	owners, err := ownerNames(zone, queries)
	if err != nil {
		return nil, err
	}
	if len(owners) == 0 {
		return nil, nil
	}
	servers, err := c.servers(ctx, zone)
	if err != nil {
		return nil, err
	}

	answers := make([]recordSet, len(servers))
	for i := range answers {
		answers[i] = recordSet{}
	}
	var mu sync.Mutex
	var jobs []func(context.Context) error
	for i, server := range servers {
		for _, o := range owners {
			name := o.name
			for _, qtype := range o.types {
				jobs = append(jobs, func(ctx context.Context) error {
					recs, err := c.authoritative(ctx, server, zone, name, qtype)
					if err != nil {
						return fmt.Errorf("zone %s: %w", zone, err)
					}
					mu.Lock()
					defer mu.Unlock()
					for _, r := range recs {
						answers[i].add(r)
					}
					return nil
				})
			}
		}
	}
	if err := runAll(ctx, jobs); err != nil {
		return nil, err
	}

	for i := 1; i < len(servers); i++ {
		if err := agree(servers[0], answers[0], servers[i], answers[i]); err != nil {
			return nil, fmt.Errorf("zone %s: %w: the servers may not have caught up with a change yet; use the provider API", zone, err)
		}
	}
	for i := 1; i < len(servers); i++ {
		answers[0].lowerTTLs(answers[i])
	}
	return answers[0].sorted(), nil
}

// owner is one name to ask and the query types to ask it.
type owner struct {
	name  string
	types []uint16
}

// ownerNames validates the queries and returns their names canonical and
// deduplicated, each with its types (CNAME always among them: a CNAME at
// one of our names is ours or in the way).
func ownerNames(zone string, queries []reconcile.Query) ([]owner, error) {
	var out []owner
	index := map[string]int{}
	for _, q := range queries {
		name := canonical(q.Name)
		if _, ok := dns.IsDomainName(name); !ok || name == "." {
			return nil, fmt.Errorf("zone %s: name %q: not a valid domain name", zone, q.Name)
		}
		if !dns.IsSubDomain(zone, name) {
			return nil, fmt.Errorf("zone %s: name %s is outside the zone: pass only names of that zone", zone, name)
		}
		i, ok := index[name]
		if !ok {
			i = len(out)
			index[name] = i
			out = append(out, owner{name: name})
		}
		for _, t := range append([]string{"CNAME"}, q.Types...) {
			qtype, ok := dns.StringToType[strings.ToUpper(t)]
			if !ok {
				return nil, fmt.Errorf("zone %s: name %s: unknown record type %q", zone, name, t)
			}
			if !slices.Contains(out[i].types, qtype) {
				out[i].types = append(out[i].types, qtype)
			}
		}
	}
	for i := range out {
		slices.Sort(out[i].types)
	}
	return out, nil
}

// canonical lower-cases name and makes it absolute.
func canonical(name string) string {
	return strings.ToLower(dns.Fqdn(strings.TrimSpace(name)))
}

// recordSet holds one server's records by meaning (name, type, value).
type recordSet map[string]reconcile.Record

func recordKey(r reconcile.Record) string {
	return r.Name + "\x00" + r.Type + "\x00" + r.Value
}

// add keeps one copy of r, with the smaller TTL when it is seen twice (the
// CNAME comes back from both the TXT and the CNAME query).
func (s recordSet) add(r reconcile.Record) {
	k := recordKey(r)
	if old, ok := s[k]; ok && old.TTL <= r.TTL {
		return
	}
	s[k] = r
}

// lowerTTLs lowers each TTL to other's TTL for the same record.
func (s recordSet) lowerTTLs(other recordSet) {
	for k, r := range s {
		if o, ok := other[k]; ok && o.TTL < r.TTL {
			r.TTL = o.TTL
			s[k] = r
		}
	}
}

func (s recordSet) sorted() []reconcile.Record {
	out := make([]reconcile.Record, 0, len(s))
	for _, r := range s {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b reconcile.Record) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Type, b.Type), strings.Compare(a.Value, b.Value))
	})
	return out
}

// agree reports whether two servers hold the same records, ignoring TTLs,
// and otherwise names what differs.
func agree(serverA string, a recordSet, serverB string, b recordSet) error {
	onlyA := missingFrom(a, b)
	onlyB := missingFrom(b, a)
	if len(onlyA) == 0 && len(onlyB) == 0 {
		return nil
	}
	var parts []string
	if len(onlyA) > 0 {
		parts = append(parts, fmt.Sprintf("%s has %s that %s lacks", serverA, strings.Join(onlyA, ", "), serverB))
	}
	if len(onlyB) > 0 {
		parts = append(parts, fmt.Sprintf("%s has %s that %s lacks", serverB, strings.Join(onlyB, ", "), serverA))
	}
	return fmt.Errorf("servers disagree: %s", strings.Join(parts, "; "))
}

// missingFrom lists, sorted and readable, the records of a that b lacks.
func missingFrom(a, b recordSet) []string {
	var out []string
	for k, r := range a {
		if _, ok := b[k]; !ok {
			out = append(out, fmt.Sprintf("%s %s %q", r.Name, r.Type, r.Value))
		}
	}
	slices.Sort(out)
	return out
}

// runAll runs jobs with at most maxInFlight at a time. The first failure
// cancels the rest and is returned; the others would only repeat it or
// report the cancellation.
func runAll(ctx context.Context, jobs []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, job := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := job(ctx); err != nil {
				once.Do(func() {
					first = err
					cancel()
				})
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	// The caller's context ended before every job ran.
	return ctx.Err()
}
