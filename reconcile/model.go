package reconcile

import (
	"sort"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// Step is a change made before any DNS change: the policy published where
// senders fetch it (a file written, mailcow updated). It carries its
// payload, so apply writes exactly what the plan showed.
type Step struct {
	Kind   string   `json:"kind"`   // StepPolicyFile, StepMailcowPolicy
	Target string   `json:"target"` // the file, or the domain in mailcow
	Action Action   `json:"action"`
	Old    []string `json:"old,omitempty"`
	New    []string `json:"new,omitempty"`
	Reason string   `json:"reason,omitempty"`

	// Content is a policy file step's new file content.
	Content []byte `json:"-"`
	// Domain, on a policy file step, says the file serves that domain
	// alone (policy.dir): one that cannot be written holds back only that
	// domain's records, and its directories are made as needed.
	Domain string `json:"domain,omitempty"`
	// MailcowSTS is a mailcow policy step's entry.
	MailcowSTS *MailcowSTS `json:"-"`
	// Seen fingerprints what the step replaces as the plan saw it
	// (Fingerprint of the file's or served policy's bytes; "" when there
	// was none), so a saved plan notices when it moved.
	Seen string `json:"-"`
}

// Step kinds.
const (
	StepPolicyFile    = "policy-file"
	StepMailcowPolicy = "mailcow policy"
)

// MailcowSTS is one mailcow MTA-STS entry to write: added when Add, else
// edited.
type MailcowSTS struct {
	Domain string   `json:"domain"`
	Mode   string   `json:"mode"`
	MX     []string `json:"mx"`
	MaxAge int64    `json:"max_age"`
	Active bool     `json:"active"`
	Add    bool     `json:"add"`
}

// Skipped is a domain left out of the run, and why.
type Skipped struct {
	Domain string `json:"domain"`
	Reason string `json:"reason"`
}

// Retirement is where a domain of retire: stands on this run.
type Retirement struct {
	Domain   string `json:"domain"`
	Zone     string `json:"zone"`
	Provider string `json:"provider"`
	// Stage is "retiring" (mode none served, waiting for senders' caches),
	// "removing" (the wait is over: its records go now), "retired" (no
	// records left) or "blocked" (mode none cannot go out yet: see Note).
	Stage string `json:"stage"`
	Since string `json:"since"` // RFC 3339
	Until string `json:"until"` // RFC 3339: records removed from then on
	// PolicyID is the id of the mode-none policy the domain serves.
	PolicyID string `json:"policy_id,omitempty"`
	// Note is the plan's line for people, e.g. "retiring since 2026-11-20:
	// mode none; records removed after 2026-11-27".
	Note string `json:"note"`
}

// Orphan is a domain whose records are ours by shape but that is neither
// managed nor retiring, or a host outside dane.hosts whose TLSA records our
// marker lists: shown, never deleted.
type Orphan struct {
	Domain   string   `json:"domain"` // the mail domain, or the DANE host
	Zone     string   `json:"zone"`
	Provider string   `json:"provider"`
	Records  []string `json:"records"` // "name TYPE value", in write order
	Advice   string   `json:"advice"`
}

// Plan is the whole run's plan: steps before DNS, then one plan per zone.
// It is everything apply needs besides credentials: apply executes it and
// never plans again.
type Plan struct {
	Steps    []Step
	Zones    []ZonePlan
	Skipped  []Skipped
	Warnings []string
	// Retiring are the domains of retire:, and Orphans the domains whose
	// records nothing claims; both sorted by domain.
	Retiring []Retirement
	Orphans  []Orphan

	// Expected is the policy each domain must serve before its gated
	// records go out: the publish gate compares against it at apply time.
	Expected map[string]mtasts.Policy
	// AliasOf maps each mailcow alias domain to its target, whose policy
	// mailcow serves for it.
	AliasOf map[string]string
}

// StepsPending reports whether the policy changes before DNS does.
func (p Plan) StepsPending() bool {
	for _, s := range p.Steps {
		if s.Action == Create || s.Action == Update {
			return true
		}
	}
	return false
}

// Summary counts a plan's changes.
type Summary struct {
	Create   int `json:"create"`
	Update   int `json:"update"`
	Delete   int `json:"delete"`
	Conflict int `json:"conflict"`
	Withheld int `json:"withheld"`
	// Acknowledged are conflicts the config's ignore: accepts.
	Acknowledged int `json:"acknowledged"`
	InSync       int `json:"in_sync"`
	Errors       int `json:"errors"`
}

// Summary counts the plan's changes by action, steps included.
func (p Plan) Summary() Summary {
	var s Summary
	count := func(a Action) {
		switch a {
		case Create:
			s.Create++
		case Update:
			s.Update++
		case Delete:
			s.Delete++
		case Conflict:
			s.Conflict++
		case Withheld:
			s.Withheld++
		case Acknowledged:
			s.Acknowledged++
		}
	}
	for _, st := range p.Steps {
		count(st.Action)
	}
	for _, z := range p.Zones {
		if z.Err != nil {
			s.Errors++
			continue
		}
		s.InSync += len(z.InSync)
		for _, c := range z.Changes {
			count(c.Action)
		}
	}
	return s
}

// Pending reports whether apply has anything to write.
func (p Plan) Pending() bool {
	s := p.Summary()
	return s.Create+s.Update+s.Delete > 0
}

// Sort puts zones in name order, so the same inputs give the same plan.
func (p *Plan) Sort() {
	sort.SliceStable(p.Zones, func(i, j int) bool {
		a, b := p.Zones[i], p.Zones[j]
		if a.Zone != b.Zone {
			return a.Zone < b.Zone
		}
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		return strings.Join(a.Domains, ",") < strings.Join(b.Domains, ",")
	})
	sort.SliceStable(p.Skipped, func(i, j int) bool { return p.Skipped[i].Domain < p.Skipped[j].Domain })
	sort.SliceStable(p.Retiring, func(i, j int) bool { return p.Retiring[i].Domain < p.Retiring[j].Domain })
	sort.SliceStable(p.Orphans, func(i, j int) bool {
		if p.Orphans[i].Domain != p.Orphans[j].Domain {
			return p.Orphans[i].Domain < p.Orphans[j].Domain
		}
		return p.Orphans[i].Zone < p.Orphans[j].Zone
	})
}
