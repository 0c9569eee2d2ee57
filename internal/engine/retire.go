package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/lifecycle"
	"github.com/mtasts-sync/mtasts-sync/internal/mailcow"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
)

// Retiring is where a domain in retire: stands before DNS is read: its
// window, and whether its policy route can serve mode none.
type Retiring struct {
	Window lifecycle.Window `json:"-"`
	// Blocked says why mode none cannot go out through the domain's policy
	// route yet, and what to do; its records are then left as they are.
	Blocked string `json:"blocked,omitempty"`
}

// MarshalJSON shows the window as RFC 3339 times, for domains --output json.
func (r Retiring) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Since   string `json:"since"`
		Until   string `json:"until"`
		Blocked string `json:"blocked,omitempty"`
	}{r.Window.Since.UTC().Format(time.RFC3339), r.Window.Until().UTC().Format(time.RFC3339), r.Blocked})
}

// retirePolicies gives every retiring domain its mode-none policy (its
// own id), built from the policy published for it before: the file under
// policy.dir, what mailcow serves, else what https://mta-sts.<domain>
// serves. Its max_age is the largest of that
// policy's and the config's, so that it carries how long senders may hold
// what was published before, for any later run on any machine to read.
func (e *Engine) retirePolicies(ctx context.Context, policyHost string, targets []*Target) {
	var todo []*Target
	for _, t := range targets {
		if t.Retire != nil && t.Err == nil {
			todo = append(todo, t)
		}
	}
	var fallback mtasts.Policy
	if e.cfg.PolicySource() != config.PolicyMailcowServed {
		fallback = e.configPolicy(policyHost)
	}
	e.each(len(todo), func(i int) {
		t := todo[i]
		prev, blocked := e.retirePrev(ctx, t)
		t.Retire.Blocked = blocked
		switch {
		case blocked != "" && e.cfg.PolicySource() == config.PolicyMailcowServed:
			// mailcow serves what its UI says; the id follows it.
			t.Policy = prev
		case e.cfg.PolicySource() == config.PolicyMailcowServed:
			t.Policy = prev.Normalize()
		default:
			t.Policy = lifecycle.RetiringPolicy(prev, fallback)
		}
		t.PolicyID = ""
		if t.Policy.Mode != "" {
			t.PolicyID = t.Policy.ID()
		}
		t.Retire.Window.MaxAge = max(t.Policy.MaxAge, fallback.MaxAge)
		if t.Retire.Window.MaxAge == 0 {
			t.Retire.Window.MaxAge = mtasts.MaxMaxAge
		}
	})
}

// retirePrev reads the policy published for a retiring domain where its
// policy route keeps it, and says when that route cannot serve mode none.
func (e *Engine) retirePrev(ctx context.Context, t *Target) (prev mtasts.Policy, blocked string) {
	switch e.cfg.PolicySource() {
	case config.PolicyFromConfig:
		if e.cfg.Policy.Dir != "" {
			body, err := safefile.ReadFile(PolicyDirFile(e.cfg.Policy.Dir, t.Domain), MaxPolicyFile)
			if err == nil {
				if p, _, err := mtasts.ParsePolicy(body); err == nil {
					prev = p
				}
			}
		}
		// What senders fetch is the same from every machine: where no file
		// of ours says what was published, ask the way they do.
		if prev.Mode == "" && e.gate != nil {
			if f, err := e.gate.FetchPolicy(ctx, t.Domain); err == nil {
				prev = f.Policy
			}
		}
		if e.cfg.Policy.Dir != "" {
			return prev, ""
		}
		if e.gate == nil {
			return prev, fmt.Sprintf("one policy serves every domain here (%s), so mtasts-sync cannot give %s mode none alone, and with the publish gate off nothing checks that you did; use policy.dir (see \"Removing a domain\" in the README), or serve the mode-none policy for mta-sts.%s yourself and turn publish_gate on", oneFile(e.cfg), t.Domain, t.Domain)
		}
		return prev, ""
	case config.PolicyMailcowManaged:
		switch {
		case t.AliasOf != "":
			return prev, fmt.Sprintf("an alias domain of %s: mailcow serves %s's policy for it and cannot serve mode none for the alias alone; retire %s too, or delete the alias domain in mailcow (senders keep its cached policy for up to its max_age)", t.AliasOf, t.AliasOf, t.AliasOf)
		case !t.fromMailcow:
			return prev, fmt.Sprintf("mailcow does not hold %s (or it is inactive), so mailcow cannot serve its mode-none policy; add it back in mailcow (active) until the records are removed", t.Domain)
		}
		body, err := e.mailcow.ServedPolicy(ctx, e.mailcowHost(), t.Domain)
		if err == nil {
			if p, _, err := mtasts.ParsePolicy(body); err == nil {
				prev = p
			}
		}
		return prev, ""
	}
	// Served: mailcow serves what its UI says.
	body, err := e.mailcow.ServedPolicy(ctx, e.mailcowHost(), t.Domain)
	switch {
	case errors.Is(err, mailcow.ErrNoPolicy):
		return prev, fmt.Sprintf("mailcow serves no MTA-STS policy for %s, so senders cannot learn mode none; in mailcow's UI (Configuration → Mail Setup → Domains → %s → MTA-STS) set mode none and keep max_age, with the domain active, until the records are removed", t.Domain, t.Domain)
	case err != nil:
		return prev, fmt.Sprintf("reading the policy mailcow serves for %s: %v", t.Domain, err)
	}
	p, _, err := mtasts.ParsePolicy(body)
	if err != nil {
		return prev, fmt.Sprintf("mailcow serves an invalid policy for %s (%v); set mode none in mailcow's UI", t.Domain, err)
	}
	if p.Mode != mtasts.ModeNone {
		return p, fmt.Sprintf("mailcow still serves mode %s for %s: in mailcow's UI (Configuration → Mail Setup → Domains → %s → MTA-STS) set mode none and keep max_age %d; the next run then publishes its id", p.Mode, t.Domain, t.Domain, p.MaxAge)
	}
	return p, ""
}

func oneFile(cfg *config.Config) string {
	if cfg.Policy.File != "" {
		return "policy.file " + cfg.Policy.File
	}
	return "your web server, from the config's policy"
}
