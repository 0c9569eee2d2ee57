// Package engine runs the main job: it gathers the domains (from the config
// and from mailcow), finds their zones, reads the zones through their
// providers, asks the reconciler for a plan, holds back any policy id whose
// policy is not served yet, and applies the plan: the policy first, then
// every zone. It does the I/O the reconciler must not.
//
// Apply executes the plan it is given and never plans again: the plan
// carries the policy steps' payloads and the state the gates need.
// ApplySaved applies a plan read back from a file (internal/planfile) and
// refuses, writing nothing, when what the plan writes moved since it was
// made.
package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/authdns"
	"github.com/mtasts-sync/mtasts-sync/internal/check"
	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/mailcow"
	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
	"github.com/mtasts-sync/mtasts-sync/providers"
)

// Options tune one run.
type Options struct {
	// Only limits the run to these domains (normalised); empty means all.
	Only []string
	// Resolver is the DNS server ("host:port") used to find zones and by
	// the publish gate; "" is the system's.
	Resolver string
	// Concurrency bounds how many zones of one provider account are read
	// or written at once, where the config sets no concurrency for it;
	// 0 keeps each provider type's default.
	Concurrency int
	Log         *slog.Logger
	// Providers carries what building a provider needs beyond its settings.
	Providers providers.Options
	// NoPublishGate turns the publish gate off (config: publish_gate: false).
	NoPublishGate bool
	// Dialer makes the gate's and the served-policy reads' connections and
	// resolves their host names itself; nil resolves them through Resolver,
	// like every other name, and connects with a net.Dialer. Tests point
	// it at loopback.
	Dialer check.Dialer
	// HTTPSPort is the port the gate fetches policies from; 0 is 443.
	// Tests point it at a loopback server.
	HTTPSPort int
	// RootCAs verifies policy hosts; nil is the system pool.
	RootCAs *x509.CertPool
	// DNSShortcut asks each zone's authoritative servers first and skips
	// the provider read when DNS already shows the desired records.
	DNSShortcut bool
	// AuthDNS tunes those queries (its Resolver defaults to Resolver).
	AuthDNS authdns.Options
	// Now is the clock of retirements and policy-change warnings; nil is
	// time.Now. Tests set it instead of sleeping.
	Now func() time.Time
	// Progress hears each stage of zones and each zone done, for a
	// progress display; nil: nobody.
	Progress Progress
}

// ConfigOptions are what the config loader needs to check provider
// settings against the provider types this build knows.
func ConfigOptions() config.Options {
	keys := func(typ string) ([]config.Key, bool) {
		pk, ok := providers.Keys(typ)
		out := make([]config.Key, len(pk))
		for i, k := range pk {
			out[i] = config.Key{Name: k.Name, Secret: k.Secret, Required: k.Required, Check: k.Check}
		}
		return out, ok
	}
	return config.Options{ProviderKeys: keys, KnownTypes: providers.Types()}
}

// Engine runs plan and apply for one config.
type Engine struct {
	cfg       *config.Config
	opts      Options
	providers map[string]*providers.Provider
	mailcow   *mailcow.Client
	gate      *check.Checker
	// daneCheck reads the keys DANE hosts serve and asks whether their
	// zones are signed; nil without dane:.
	daneCheck *check.Checker
	authdns   *authdns.Client // nil: no DNS shortcut
	// dnsSlots bounds the zones asked through DNS at once: a burst of
	// queries to one nameserver gets dropped.
	dnsSlots chan struct{}
}

// New builds every provider and the mailcow client the config names. Bad
// settings are reported here, before anything is sent anywhere.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Engine, error) {
	zoneConcurrency := opts.Concurrency
	if opts.Concurrency < 1 {
		opts.Concurrency = maxParallel
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Engine{cfg: cfg, opts: opts, providers: map[string]*providers.Provider{}}
	names := make([]string, 0, len(cfg.Providers))
	for name := range cfg.Providers {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		pc := cfg.Providers[name]
		po := opts.Providers
		po.BaseDir = cfg.Dir
		if po.Log == nil {
			po.Log = opts.Log
		}
		po.Limits = providers.Limits{Rate: pc.RateLimit, Burst: pc.Burst, Concurrency: pc.Concurrency, ChangeRate: pc.ChangeRate}
		if po.Limits.Concurrency == 0 {
			po.Limits.Concurrency = zoneConcurrency
		}
		p, err := providers.Build(ctx, name, pc.Type, pc.Values(), po)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", cfg.Path, pc.Line, err))
			continue
		}
		e.providers[name] = p
	}
	if cfg.Mailcow != nil {
		mc, err := e.newMailcow()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: mailcow: %w", cfg.Path, err))
		}
		e.mailcow = mc
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opts.DNSShortcut {
		ao := opts.AuthDNS
		if ao.Resolver == "" {
			ao.Resolver = opts.Resolver
		}
		e.authdns = authdns.New(ao)
		e.dnsSlots = make(chan struct{}, maxParallel)
	}
	if cfg.DANE != nil {
		e.daneCheck = check.New(check.Options{Resolver: opts.Resolver, Dialer: opts.Dialer, RootCAs: opts.RootCAs, Timeout: daneReadTimeout})
	}
	if cfg.PublishGate && !opts.NoPublishGate {
		e.gate = check.New(check.Options{Resolver: opts.Resolver, Dialer: opts.Dialer, HTTPSPort: opts.HTTPSPort, RootCAs: opts.RootCAs})
	}
	return e, nil
}

func (e *Engine) newMailcow() (*mailcow.Client, error) {
	transport := &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, TLSHandshakeTimeout: 10 * time.Second}
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		transport = dt.Clone()
	}
	if e.opts.Dialer != nil {
		transport.DialContext = e.opts.Dialer.DialContext
	}
	pool, err := AddCAs(e.opts.RootCAs, e.cfg.Mailcow.CAFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	if pool != nil {
		transport.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return mailcow.New(mailcow.Options{
		URL:        e.cfg.Mailcow.URL,
		APIKey:     e.cfg.Mailcow.APIKey.Reveal(),
		HTTPClient: &http.Client{Transport: transport, Timeout: mailcowTimeout},
	})
}

// maxParallel bounds the goroutines of one step (policy fetches, zone
// lookups); the provider accounts' own slots bound their zones further.
const maxParallel = 32

// Log is the engine's logger.
func (e *Engine) Log() *slog.Logger { return e.opts.Log }

// Stats returns every provider account's API use so far, by provider name.
func (e *Engine) Stats() map[string]providers.Stats {
	out := make(map[string]providers.Stats, len(e.providers))
	for name, p := range e.providers {
		out[name] = p.Stats()
	}
	return out
}

// MaxCAFile caps a PEM file of CA certificates: the whole system bundle
// is a few hundred KiB.
const MaxCAFile = 1 * safefile.MiB

// AddCAs returns base (the system pool when nil) plus the CA certificates
// of the PEM file; with no file it returns base unchanged.
func AddCAs(base *x509.CertPool, file string) (*x509.CertPool, error) {
	if file == "" {
		return base, nil
	}
	pem, err := safefile.ReadFile(file, MaxCAFile)
	if err != nil {
		return nil, err
	}
	pool := base
	if pool == nil {
		if pool, err = x509.SystemCertPool(); err != nil {
			pool = x509.NewCertPool()
		}
	} else {
		pool = pool.Clone()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// perZone runs f for 0..n-1 at once: each zone's work waits for a slot of
// its provider account (and the DNS shortcut for one of dnsSlots), so one
// slow account never holds the others' zones back.
func (e *Engine) perZone(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}

// each runs f for 0..n-1 on at most Concurrency goroutines.
func (e *Engine) each(n int, f func(i int)) {
	sem := make(chan struct{}, e.opts.Concurrency)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}
