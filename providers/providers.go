// Package providers builds libdns providers from config by type name and
// adapts them to the reconciler's zone interface: each type's quirks (how
// a TXT value comes back, which calls write an RRset safely, which errors
// mean what) are handled here, so the reconciler never sees them.
// Providers only read and write; they never decide what to change.
package providers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/libdns/libdns"
)

// Key is one type-specific setting of a provider.
type Key struct {
	Name     string
	Secret   bool
	Required bool
	// Check, if set, says what is wrong with a value that is not empty,
	// without quoting it (it may be a secret, or come from a variable);
	// the config loader runs it before anything is sent.
	Check func(value string) error
}

// Client is what every libdns provider we use implements.
type Client interface {
	libdns.RecordGetter
	libdns.RecordAppender
	libdns.RecordSetter
	libdns.RecordDeleter
}

// kind describes one provider type: its settings and how to write it.
type kind struct {
	keys  []Key
	build func(ctx context.Context, s map[string]string, o Options) (Client, error)
	// setRRset: SetRecords replaces one RRset and nothing else, so it may
	// replace our records when no foreign record shares the RRset.
	// deSEC's SetRecords empties every other RRset in the zone; Cloudflare's
	// fails on a name/type holding more than one record.
	setRRset func(have int) bool
	// presentationTXT: the client hands back TXT values in (part of) their
	// zone-file form: quotes between character-strings, backslash escapes.
	presentationTXT bool
	// explain turns the client's error into one a user can act on.
	explain func(zone string, err error) error
	// metered: every HTTP request goes through our transport, which
	// limits and counts it. Otherwise calls are limited and counted by
	// cost, the requests the client makes for them.
	metered bool
	cost    func(c call) int
	// remote: reads go to a rate-limited API, so asking DNS first can
	// spare them. A zone file or an AXFR from one's own server is cheaper
	// than the DNS queries.
	remote bool
}

// call is one client call, for estimating the requests it makes.
type call struct {
	op      string // "read", "append", "set", "delete", "list"
	records int    // records passed in (writes) or returned (reads)
}

func oneRequest(call) int { return 1 }

func always(int) bool { return true }
func never(int) bool  { return false }

var kinds = map[string]kind{
	"cloudflare": {
		keys:            []Key{{Name: "api_token", Secret: true, Required: true}, {Name: "zone_token", Secret: true}},
		build:           buildCloudflare,
		remote:          true,
		setRRset:        func(have int) bool { return have <= 1 },
		presentationTXT: true,
		metered:         true,
	},
	"hetzner": {
		keys:            []Key{{Name: "api_token", Secret: true, Required: true}},
		build:           buildHetzner,
		remote:          true,
		setRRset:        always,
		presentationTXT: true,
		cost:            hetznerCost,
	},
	"route53": {
		keys: []Key{{Name: "access_key_id"}, {Name: "secret_access_key", Secret: true}, {Name: "session_token", Secret: true},
			{Name: "region"}, {Name: "profile"}, {Name: "hosted_zone_id"}},
		build:    buildRoute53,
		remote:   true,
		setRRset: always,
		cost:     route53Cost,
	},
	"rfc2136": {
		keys: []Key{{Name: "server", Required: true, Check: checkHostPort}, {Name: "key_name", Required: true},
			{Name: "key_alg", Check: checkTSIGAlgorithm}, {Name: "key", Secret: true, Required: true, Check: checkBase64}},
		build:           buildRFC2136,
		setRRset:        always,
		presentationTXT: true,
		explain:         explainRFC2136,
		cost:            oneRequest,
	},
	"desec": {
		keys:            []Key{{Name: "token", Secret: true, Required: true}},
		build:           buildDesec,
		remote:          true,
		setRRset:        never,
		presentationTXT: true,
		cost:            desecCost,
	},
	"zonefile": {
		keys:     []Key{{Name: "directory", Required: true}},
		build:    buildZonefile,
		setRRset: always,
		cost:     oneRequest,
	},
}

// Types lists the provider types, sorted.
func Types() []string {
	out := make([]string, 0, len(kinds))
	for t := range kinds {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Keys returns the settings a provider type accepts; ok is false for an
// unknown type.
func Keys(typ string) (keys []Key, ok bool) {
	k, ok := kinds[typ]
	return k.keys, ok
}

// Options are what building a provider needs beyond its settings.
type Options struct {
	// BaseDir resolves relative paths in settings (the config's directory).
	BaseDir string
	// Transport carries the HTTP requests of the clients that accept one
	// (Cloudflare's; the Hetzner, deSEC and Route53 clients build their
	// own); nil means http.DefaultTransport, with proxy and trust from the
	// environment.
	Transport http.RoundTripper
	// CallTimeout bounds each client call (a whole paged read, one write),
	// so a request that hangs fails its zone instead of the run; default
	// two minutes.
	CallTimeout time.Duration
	// Limits override the type's default request budget where set.
	Limits Limits

	// Log hears each call and request at debug level; nil: nobody.
	Log *slog.Logger

	meter *meter
}

// Provider is one configured provider account.
type Provider struct {
	Name, Type string
	client     Client
	kind       kind
	timeout    time.Duration
	meter      *meter

	// zones caches the account's zone list for the run: discovery asks
	// for it once per domain.
	zonesMu sync.Mutex
	zones   []string
	listed  bool
}

const defaultCallTimeout = 2 * time.Minute

// Build validates settings for the provider type and builds its client.
// Nothing is sent anywhere: a bad setting is an error before any client
// exists (some clients panic or kill the process on bad credentials).
func Build(ctx context.Context, name, typ string, settings map[string]string, opts Options) (p *Provider, err error) {
	k, ok := kinds[typ]
	if !ok {
		return nil, fmt.Errorf("provider %s: unknown type %q (known: %s)", name, typ, strings.Join(Types(), ", "))
	}
	for _, key := range k.keys {
		if key.Required && strings.TrimSpace(settings[key.Name]) == "" {
			return nil, fmt.Errorf("provider %s (%s): %s is required", name, typ, key.Name)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("provider %s (%s): building the client panicked: %v", name, typ, r)
		}
	}()
	opts.meter = newMeter(opts.Limits.merged(typ), providerLog(opts.Log, name, typ))
	c, err := k.build(ctx, settings, opts)
	if err != nil {
		return nil, fmt.Errorf("provider %s (%s): %w", name, typ, err)
	}
	return &Provider{Name: name, Type: typ, client: c, kind: k, timeout: callTimeout(opts), meter: opts.meter}, nil
}

func callTimeout(o Options) time.Duration {
	if o.CallTimeout > 0 {
		return o.CallTimeout
	}
	return defaultCallTimeout
}

// New wraps an already built client as a provider of the given type; tests
// and embedders use it to bring their own client.
func New(name, typ string, c Client, opts Options) (*Provider, error) {
	k, ok := kinds[typ]
	if !ok {
		return nil, fmt.Errorf("provider %s: unknown type %q", name, typ)
	}
	return &Provider{Name: name, Type: typ, client: c, kind: k, timeout: callTimeout(opts), meter: newMeter(opts.Limits.merged(typ), providerLog(opts.Log, name, typ))}, nil
}

// Remote reports whether the provider is a rate-limited API that the DNS
// shortcut is worth asking before.
func (p *Provider) Remote() bool { return p.kind.remote }

// Limits returns the request budget in force for the account.
func (p *Provider) Limits() Limits { return p.meter.limits }

// Stats returns the account's API use so far.
func (p *Provider) Stats() Stats { return p.meter.snapshot() }

// Proxied reports whether the records at name in zone pass through the
// provider's proxy (Cloudflare's orange cloud), which then answers HTTPS
// for the name with a certificate of its own. known is false for a
// provider without such a proxy.
func (p *Provider) Proxied(ctx context.Context, zone, name string) (proxied, known bool, err error) {
	pc, ok := p.client.(interface {
		proxied(ctx context.Context, zone, name string) (bool, error)
	})
	if !ok {
		return false, false, nil
	}
	err = p.guard(ctx, call{op: "read"}, "reading the proxy status of "+name, zone, func(ctx context.Context) error {
		var err error
		proxied, err = pc.proxied(ctx, zone, name)
		return err
	})
	if err != nil {
		return false, false, err
	}
	return proxied, true, nil
}

// Acquire takes one of the account's concurrency slots; release it when
// the zone's work is done.
func (p *Provider) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case p.meter.slots <- struct{}{}:
		return func() { <-p.meter.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ListZones lists the zones the account holds, lower-case without the
// trailing dot. ok is false when the provider cannot list zones.
func (p *Provider) ListZones(ctx context.Context) (zones []string, ok bool, err error) {
	lister, ok := p.client.(libdns.ZoneLister)
	if !ok {
		return nil, false, nil
	}
	p.zonesMu.Lock()
	defer p.zonesMu.Unlock()
	if p.listed {
		return p.zones, true, nil
	}
	var zs []libdns.Zone
	err = p.guard(ctx, call{op: "list"}, "listing zones", "", func(ctx context.Context) error {
		var err error
		zs, err = lister.ListZones(ctx)
		return err
	})
	if err != nil {
		return nil, true, err
	}
	for _, z := range zs {
		zones = append(zones, strings.ToLower(strings.TrimSuffix(z.Name, ".")))
	}
	sort.Strings(zones)
	p.zones, p.listed = zones, true
	return zones, true, nil
}

func providerLog(log *slog.Logger, name, typ string) *slog.Logger {
	if log == nil {
		return nil
	}
	return log.With("provider", name, "type", typ)
}

// guard runs one client call under the call timeout, turning a panic into
// an error and the client's error into one that names the provider and zone.
// Each call is logged at debug level.
func (p *Provider) guard(ctx context.Context, c call, op, zone string, f func(context.Context) error) (err error) {
	start := time.Now()
	defer func() {
		attrs := []any{"op", op, "zone", zone, "took", time.Since(start).Round(time.Millisecond)}
		if err != nil {
			attrs = append(attrs, "error", err)
		}
		p.meter.log.Debug("provider call", attrs...)
	}()
	if !p.kind.metered && p.kind.cost != nil {
		n := p.kind.cost(c)
		if c.op == "read" {
			n = 1 // the rest is known, and paid, once the records are in
		}
		if err := p.meter.wait(ctx, n); err != nil {
			return err
		}
		if callKind(c) == "write" {
			// Each write call sends one change request (route53: one
			// ChangeResourceRecordSets), limited on its own too.
			if err := p.meter.waitChange(ctx); err != nil {
				return err
			}
		}
		p.meter.count(callKind(c), n)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("provider %s (%s) panicked while %s: %v", p.Name, p.Type, op, r)
		}
	}()
	err = f(ctx)
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("no answer within %s: %w", p.timeout, err)
	}
	if err != nil && p.kind.explain != nil {
		err = p.kind.explain(zone, err)
	}
	return err
}

func callKind(c call) string {
	switch c.op {
	case "read", "list":
		return "read"
	}
	return "write"
}

// paidRead charges the requests a paged read made beyond the first, now
// that the number of records is known.
func (p *Provider) paidRead(ctx context.Context, records int) error {
	if p.kind.metered || p.kind.cost == nil {
		return nil
	}
	extra := p.kind.cost(call{op: "read", records: records}) - 1
	if extra <= 0 {
		return nil
	}
	p.meter.count("read", extra)
	return p.meter.wait(ctx, extra)
}

// hetznerCost: a zone lookup plus pages of 50 RRsets (the zone's SOA and NS
// included); Set deletes the RRset and creates it again.
func hetznerCost(c call) int {
	switch c.op {
	case "read":
		return 1 + (c.records+2+49)/50
	case "set":
		return 2
	}
	return 1
}

// route53Cost: a zone lookup before everything; a read pages 1,000 at a
// time; Append and Delete read the RRset before changing it.
func route53Cost(c call) int {
	switch c.op {
	case "read":
		return 1 + max(1, (c.records+999)/1000)
	case "set":
		return 2
	}
	return 3
}

// desecCost: Append and Delete read each RRset, then send one bulk write.
func desecCost(c call) int {
	if c.op == "read" || c.op == "list" {
		return 1
	}
	return c.records + 1
}
