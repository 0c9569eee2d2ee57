package config

import (
	"sort"
	"time"

	"go.yaml.in/yaml/v3"
)

// retire reads retire:, a mapping of domain to the date (YYYY-MM-DD,
// midnight UTC) or RFC 3339 time its retirement began.
func (p *parser) retire(f field, nodes map[string]*yaml.Node) []Retirement {
	if isNull(f.val) {
		return nil
	}
	now := p.opts.Now()
	var out []Retirement
	for _, e := range p.entries(f.val, f.path) {
		d := p.domain(e.key, f.path, "domain")
		if isNull(e.val) || e.val.Kind != yaml.ScalarNode {
			p.errorf(e.val, e.path, "must be the date retirement began, YYYY-MM-DD or RFC 3339 (e.g. 2026-11-20), got %s", p.describe(e.val))
			continue
		}
		since, err := parseSince(e.val.Value)
		if err != nil {
			p.errorf(e.val, e.path, "%v is not a date; write YYYY-MM-DD or an RFC 3339 time (e.g. 2026-11-20 or 2026-11-20T09:00:00Z)", p.show(e.val))
			continue
		}
		if since.After(now) {
			p.errorf(e.val, e.path, "%s is in the future; retirement begins on the day apply first publishes mode none: give today's date (%s) when you retire the domain, not a planned one", p.showAs(e.val, e.val.Value), now.UTC().Format(time.DateOnly))
			continue
		}
		if d == "" {
			continue
		}
		if first, dup := nodes[d]; dup {
			p.errorf(e.key, f.path, "%s is listed twice (first at line %d); keep one", d, first.Line)
			continue
		}
		nodes[d] = e.key
		out = append(out, Retirement{Domain: d, Since: since, Line: e.key.Line})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out
}

// parseSince reads a date (midnight UTC) or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// retireCheck relates retire: to the rest: a domain cannot be kept and
// retired at once, the primary of the delegated layout carries every other
// domain's records, and a retired domain's records must be findable.
func (p *parser) retireCheck(top map[string]field, cfg *Config, domainNodes, retireNodes map[string]*yaml.Node) {
	def, hasDefault := top["provider"]
	hasDefault = hasDefault && !isNull(def.val)
	for _, r := range cfg.Retire {
		n := retireNodes[r.Domain]
		if kept, ok := domainNodes[r.Domain]; ok {
			p.errorf(n, "retire", "%s is also in domains: (line %d), which keeps it; remove it from domains: to retire it, or from retire: to keep it", r.Domain, kept.Line)
		}
		if cfg.Layout == LayoutDelegated && r.Domain == cfg.Primary {
			p.errorf(n, "retire", "%s is the primary of the delegated layout: every other domain's records point at its records; make another domain primary: first, then retire it", r.Domain)
		}
		if _, _, ok := cfg.ZoneFor(r.Domain); !ok && !hasDefault {
			p.errorf(n, "retire", "%s is in no configured zone; add a zones: entry for its zone or set provider: <name>, so its records can be found and removed", r.Domain)
		}
	}
}
