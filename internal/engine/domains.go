package engine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/lifecycle"
	"github.com/mtasts-sync/mtasts-sync/internal/mailcow"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

const mailcowTimeout = 30 * time.Second

// Target is one mail domain of the run: where its records live and the
// policy it serves.
type Target struct {
	Domain string `json:"domain"`
	// AliasOf is the target domain of a mailcow alias domain.
	AliasOf string `json:"alias_of,omitempty"`
	// Source is where the domain came from: "config" or "mailcow".
	Source   string `json:"source"`
	Zone     string `json:"zone"`
	Provider string `json:"provider"`
	// Discovered says the zone was found at run time, not given in zones:.
	Discovered bool          `json:"zone_discovered,omitempty"`
	Policy     mtasts.Policy `json:"-"`
	PolicyID   string        `json:"policy_id,omitempty"`
	// Retire is set for a domain in retire:.
	Retire *Retiring `json:"retire,omitempty"`
	// fromMailcow marks a real (not alias) domain mailcow holds.
	fromMailcow bool
	// Err is why the domain cannot be planned (its zone or policy unknown).
	Err error `json:"-"`
}

// Inventory is every domain of the run.
type Inventory struct {
	Targets []Target
	// All names every domain of the config and mailcow, --domain or not.
	All        []string
	Skipped    []reconcile.Skipped
	Warnings   []string
	PolicyHost string
}

// Inventory gathers the domains from the config and mailcow, the policy
// each serves, and the zone each lives in. A mailcow that cannot be asked
// is an error: a failed discovery must never look like "no domains".
func (e *Engine) Inventory(ctx context.Context) (Inventory, error) {
	var inv Inventory
	byName := map[string]*Target{}
	var order []string
	add := func(t Target) {
		if old, ok := byName[t.Domain]; ok {
			old.fromMailcow = old.fromMailcow || t.fromMailcow
			return
		}
		byName[t.Domain] = &t
		order = append(order, t.Domain)
	}
	for _, d := range e.cfg.Domains {
		add(Target{Domain: d, Source: "config"})
	}
	var conf *mailcow.Conf
	if e.mailcow != nil {
		mc := e.cfg.Mailcow
		found, err := e.mailcow.Discover(ctx, mc.Tags, mc.IncludeAliasDomains)
		if err != nil {
			return inv, fmt.Errorf("mailcow domain discovery failed, so nothing is applied: %w", err)
		}
		for _, f := range found.Domains {
			add(Target{Domain: f.Name, AliasOf: f.AliasOf, Source: "mailcow", fromMailcow: f.AliasOf == ""})
		}
		for _, s := range found.Skipped {
			_, listed := byName[s.Name]
			if _, retiring := e.cfg.Retiring(s.Name); !listed && !retiring {
				inv.Skipped = append(inv.Skipped, reconcile.Skipped{Domain: s.Name, Reason: s.Reason})
			}
		}
		if mc.Conf != "" {
			c, err := mailcow.LoadConf(mc.Conf)
			if err != nil {
				return inv, fmt.Errorf("mailcow.conf: %w", err)
			}
			conf = &c
		}
	}
	for _, r := range e.cfg.Retire {
		add(Target{Domain: r.Domain, Source: "retire"})
		byName[r.Domain].Retire = &Retiring{Window: lifecycle.Window{Since: r.Since}}
	}
	sort.Strings(order)
	inv.All = order
	targets, err := e.only(order, byName)
	if err != nil {
		return inv, err
	}
	inv.PolicyHost, err = e.policyHost(conf)
	if err != nil {
		return inv, err
	}
	e.policies(ctx, inv.PolicyHost, targets, &inv)
	e.retirePolicies(ctx, inv.PolicyHost, targets)
	e.zones(ctx, targets)
	for _, t := range targets {
		if t.Err == nil && t.Zone == "" {
			continue // skipped above
		}
		inv.Targets = append(inv.Targets, *t)
	}
	if conf != nil && (e.cfg.Policy.File != "" || e.cfg.Policy.Dir != "") {
		inv.Warnings = append(inv.Warnings, coverageWarnings(*conf, inv.Targets, e.cfg.Mailcow.Conf)...)
	}
	sort.Slice(inv.Skipped, func(i, j int) bool { return inv.Skipped[i].Domain < inv.Skipped[j].Domain })
	return inv, nil
}

// only applies --domain.
func (e *Engine) only(order []string, byName map[string]*Target) ([]*Target, error) {
	if len(e.opts.Only) == 0 {
		out := make([]*Target, len(order))
		for i, d := range order {
			out[i] = byName[d]
		}
		return out, nil
	}
	var out []*Target
	var unknown []string
	for _, d := range e.opts.Only {
		if t, ok := byName[d]; ok {
			out = append(out, t)
		} else {
			unknown = append(unknown, d)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("--domain %s: not among the domains of the config or mailcow", strings.Join(unknown, ", "))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out, nil
}

// policyHost is policy_host, else mailcow's MAILCOW_HOSTNAME, else the
// host of mailcow's URL.
func (e *Engine) policyHost(conf *mailcow.Conf) (string, error) {
	if e.cfg.PolicyHost != "" {
		return e.cfg.PolicyHost, nil
	}
	if conf != nil && conf.Hostname != "" {
		return strings.ToLower(strings.TrimSuffix(conf.Hostname, ".")), nil
	}
	if e.cfg.Mailcow != nil {
		u, err := url.Parse(e.cfg.Mailcow.URL)
		if err == nil && u.Hostname() != "" {
			return strings.ToLower(u.Hostname()), nil
		}
	}
	return "", errors.New("policy_host is not set and cannot be taken from mailcow: set policy_host")
}

// configPolicy is the config's policy, its mx defaulting to the policy host.
func (e *Engine) configPolicy(policyHost string) mtasts.Policy {
	p := e.cfg.Policy.MTASTS()
	if len(p.MX) == 0 {
		p.MX = []string{policyHost}
	}
	return p
}

// Policy is the one policy the config publishes, as plan and apply
// render it; it reads mailcow.conf for the policy host where needed, and
// sends nothing anywhere. With mailcow serving each domain's own policy
// there is no one policy: that is an error saying where to look.
func (e *Engine) Policy() (mtasts.Policy, error) {
	if e.cfg.PolicySource() == config.PolicyMailcowServed {
		return mtasts.Policy{}, errors.New("the config has no policy: section, so each domain publishes what mailcow serves for it; `mtasts-sync domains` lists each one's id")
	}
	var conf *mailcow.Conf
	if e.cfg.Mailcow != nil && e.cfg.Mailcow.Conf != "" {
		c, err := mailcow.LoadConf(e.cfg.Mailcow.Conf)
		if err != nil {
			return mtasts.Policy{}, fmt.Errorf("mailcow.conf: %w", err)
		}
		conf = &c
	}
	host, err := e.policyHost(conf)
	if err != nil {
		return mtasts.Policy{}, err
	}
	p := e.configPolicy(host)
	if err := p.Validate(); err != nil {
		return mtasts.Policy{}, fmt.Errorf("%s: policy: %w", e.cfg.Path, err)
	}
	return p, nil
}

// policies sets the policy each target serves. With mailcow serving the
// policy, it is read from mailcow the way senders will see it; a domain
// that serves none has MTA-STS off in mailcow and is skipped.
func (e *Engine) policies(ctx context.Context, policyHost string, targets []*Target, inv *Inventory) {
	if e.cfg.PolicySource() != config.PolicyMailcowServed {
		p := e.configPolicy(policyHost)
		for _, t := range targets {
			t.Policy, t.PolicyID = p, p.ID()
		}
		return
	}
	// A retiring domain mailcow serves nothing for is not skipped: its
	// records may still be there (retirePolicies says what to do).
	retiring := func(i int) bool { return targets[i].Retire != nil }
	skipped := make([]string, len(targets))
	e.each(len(targets), func(i int) {
		t := targets[i]
		body, err := e.mailcow.ServedPolicy(ctx, e.mailcowHost(), t.Domain)
		switch {
		case errors.Is(err, mailcow.ErrNoPolicy) && retiring(i):
			return
		case errors.Is(err, mailcow.ErrNoPolicy):
			skipped[i] = "mailcow serves no MTA-STS policy for it: enable MTA-STS for the domain in mailcow"
			return
		case err != nil:
			t.Err = fmt.Errorf("domain %s: reading the policy mailcow serves: %w", t.Domain, err)
			return
		}
		p, _, err := mtasts.ParsePolicy(body)
		if err != nil {
			t.Err = fmt.Errorf("domain %s: mailcow serves an invalid policy: %w", t.Domain, err)
			return
		}
		t.Policy = p.Normalize()
		t.PolicyID = t.Policy.ID()
	})
	for i, reason := range skipped {
		if reason != "" {
			inv.Skipped = append(inv.Skipped, reconcile.Skipped{Domain: targets[i].Domain, Reason: reason})
			targets[i].Err, targets[i].Zone = nil, ""
		}
	}
}

// mailcowHost is where mailcow's web server answers: its nginx serves
// /.well-known/mta-sts.txt for every mta-sts.<domain> Host. Asking at the
// API's address rather than policy_host reaches this mailcow even where
// policy_host resolves elsewhere from here.
func (e *Engine) mailcowHost() string {
	u, err := url.Parse(e.cfg.Mailcow.URL)
	if err != nil {
		return ""
	}
	return u.Host
}

// zones finds the zone of every target that has no error yet.
func (e *Engine) zones(ctx context.Context, targets []*Target) {
	e.each(len(targets), func(i int) {
		t := targets[i]
		if t.Err != nil || (t.PolicyID == "" && t.Policy.Mode == "" && t.Retire == nil) {
			return
		}
		_, _, configured := e.cfg.ZoneFor(t.Domain)
		t.Discovered = !configured
		t.Zone, t.Provider, t.Err = e.zoneOf(ctx, t.Domain)
	})
}

// zoneOf finds the zone holding name (a mail domain or a DANE host) and
// its provider: the longest zones: entry, else discovery through the
// default provider.
func (e *Engine) zoneOf(ctx context.Context, name string) (zone, provider string, err error) {
	if zone, prov, ok := e.cfg.ZoneFor(name); ok {
		return zone, prov, nil
	}
	p, ok := e.providers[e.cfg.Provider]
	if !ok {
		return "", e.cfg.Provider, fmt.Errorf("no zones: entry holds %s and no default provider: is set", name)
	}
	zone, err = p.FindZone(ctx, name, e.opts.Resolver)
	return zone, e.cfg.Provider, err
}

// coverageWarnings says what mailcow.conf lacks for mailcow's certificate
// and web server to answer for every mta-sts.<domain>.
func coverageWarnings(conf mailcow.Conf, targets []Target, path string) []string {
	var domains []string
	for _, t := range targets {
		domains = append(domains, t.Domain)
	}
	missing, fix := conf.CoversMTASTS(domains)
	if len(missing) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s does not cover mta-sts.%s in ADDITIONAL_SAN/ADDITIONAL_SERVER_NAMES, so senders cannot fetch the policy there: set %s and restart mailcow",
		path, strings.Join(missing, ", mta-sts."), strings.Join(fix, " and "))}
}
