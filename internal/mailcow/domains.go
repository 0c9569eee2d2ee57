package mailcow

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/dnsname"
)

// Domain is a mail domain as mailcow lists it.
type Domain struct {
	Name     string // normalised A-label, lower case, no trailing dot
	Active   bool
	BackupMX bool // mailcow only relays for it ("relay this domain")
	Tags     []string
}

// AliasDomain is a mailcow alias domain: every address at Name is delivered
// as the same address at Target.
type AliasDomain struct {
	Name, Target string // normalised
	Active       bool
}

// normalize turns a name from mailcow into the form used everywhere else.
func normalize(name string) (string, error) {
	return dnsname.Normalize(name)
}

// Domains lists mailcow's domains: GET /api/v1/get/domain/all, with
// ?tags=a,b when tags are given (json_api.php splits that parameter on ",").
//
// mailcow matches tags loosely (SQL LIKE '%tag%', any one tag suffices), so a
// tag "prod" would also pick "preprod"; the answer is therefore filtered again
// here to domains carrying at least one of the tags exactly (ignoring case).
func (c *Client) Domains(ctx context.Context, tags []string) ([]Domain, error) {
	var q url.Values
	want := map[string]bool{}
	if len(tags) > 0 {
		clean := make([]string, 0, len(tags))
		for i, t := range tags {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if strings.Contains(t, ",") {
				// The tag is not quoted: it may have come from a variable.
				return nil, fmt.Errorf("mailcow tag %d of %d contains a comma, which mailcow's API uses to separate tags: give each tag on its own", i+1, len(tags))
			}
			clean = append(clean, t)
			want[strings.ToLower(t)] = true
		}
		if len(clean) > 0 {
			q = url.Values{"tags": {strings.Join(clean, ",")}}
		}
	}
	data, err := c.call(ctx, "GET", "/api/v1/get/domain/all", q, nil)
	if err != nil {
		return nil, err
	}
	domains, err := decodeDomains(data)
	if err != nil {
		return nil, fmt.Errorf("mailcow %s domain list: %w", c.base.Redacted(), err)
	}
	if len(want) > 0 {
		kept := domains[:0]
		for _, d := range domains {
			for _, t := range d.Tags {
				if want[strings.ToLower(strings.TrimSpace(t))] {
					kept = append(kept, d)
					break
				}
			}
		}
		domains = kept
	}
	sort.Slice(domains, func(i, j int) bool { return domains[i].Name < domains[j].Name })
	return domains, nil
}

// AliasDomains lists mailcow's alias domains: GET /api/v1/get/alias-domain/all.
func (c *Client) AliasDomains(ctx context.Context) ([]AliasDomain, error) {
	data, err := c.call(ctx, "GET", "/api/v1/get/alias-domain/all", nil, nil)
	if err != nil {
		return nil, err
	}
	aliases, err := decodeAliasDomains(data)
	if err != nil {
		return nil, fmt.Errorf("mailcow %s alias domain list: %w", c.base.Redacted(), err)
	}
	sort.Slice(aliases, func(i, j int) bool { return aliases[i].Name < aliases[j].Name })
	return aliases, nil
}

// Found is a mail domain to manage. AliasOf names the real domain when the
// domain is a mailcow alias domain, and is "" otherwise.
type Found struct {
	Name    string
	AliasOf string
}

// Skip is a domain left alone, with a one-line reason.
type Skip struct {
	Name, Reason string
}

// Discovered is the outcome of Discover, both lists sorted by name.
type Discovered struct {
	Domains []Found
	Skipped []Skip
}

// Reasons for skipping, shared so plans read the same everywhere.
const (
	reasonInactive      = "inactive in mailcow"
	reasonBackupMX      = "this mailcow is only backup MX for it: its MX is elsewhere, so a policy naming us would break its mail"
	reasonAliasInactive = "alias domain is inactive in mailcow"
)

// Discover merges domains and (when includeAliases) alias domains into the
// mail domains to manage, and says why each other one is skipped.
func (c *Client) Discover(ctx context.Context, tags []string, includeAliases bool) (Discovered, error) {
	domains, err := c.Domains(ctx, tags)
	if err != nil {
		return Discovered{}, err
	}
	var aliases []AliasDomain
	if includeAliases {
		if aliases, err = c.AliasDomains(ctx); err != nil {
			return Discovered{}, err
		}
	}
	return discover(domains, aliases, tags), nil
}

// discover is the pure part of Discover.
func discover(domains []Domain, aliases []AliasDomain, tags []string) Discovered {
	var out Discovered
	managed := map[string]bool{}
	skipped := map[string]string{}
	seen := map[string]bool{}
	for _, d := range domains {
		if seen[d.Name] {
			continue
		}
		seen[d.Name] = true
		switch {
		case !d.Active:
			skipped[d.Name] = reasonInactive
			out.Skipped = append(out.Skipped, Skip{Name: d.Name, Reason: reasonInactive})
		case d.BackupMX:
			skipped[d.Name] = reasonBackupMX
			out.Skipped = append(out.Skipped, Skip{Name: d.Name, Reason: reasonBackupMX})
		default:
			managed[d.Name] = true
			out.Domains = append(out.Domains, Found{Name: d.Name})
		}
	}
	for _, a := range aliases {
		if seen[a.Name] {
			continue
		}
		seen[a.Name] = true
		var reason string
		switch {
		case !a.Active:
			reason = reasonAliasInactive
		case managed[a.Target]:
			out.Domains = append(out.Domains, Found{Name: a.Name, AliasOf: a.Target})
			continue
		case skipped[a.Target] != "":
			reason = fmt.Sprintf("alias of %s, which is skipped (%s)", a.Target, skipped[a.Target])
		case len(tags) > 0:
			reason = fmt.Sprintf("alias of %s, which is not among the domains tagged %s", a.Target, strings.Join(tags, ","))
		default:
			reason = fmt.Sprintf("alias of %s, which mailcow does not list as a domain", a.Target)
		}
		out.Skipped = append(out.Skipped, Skip{Name: a.Name, Reason: reason})
	}
	sort.Slice(out.Domains, func(i, j int) bool { return out.Domains[i].Name < out.Domains[j].Name })
	sort.Slice(out.Skipped, func(i, j int) bool { return out.Skipped[i].Name < out.Skipped[j].Name })
	return out
}
