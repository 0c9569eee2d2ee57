package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mtasts-sync/mtasts-sync/internal/dnsname"
)

// Ignore is one entry of ignore:: a conflict the admin knows about and
// accepts, so it no longer fails runs or breaks --quiet.
type Ignore struct {
	Name   string // the conflicting record's owner name, normalised (no trailing dot)
	Type   string // its type, upper-case; "" = any type at Name
	Reason string // why it is accepted, shown in the plan
	Line   int
}

// String names the entry the way the config's reader wrote it.
func (i Ignore) String() string {
	if i.Type == "" {
		return i.Name
	}
	return i.Name + " " + i.Type
}

var ignoreKeys = []string{"name", "type", "reason"}

// ignore reads ignore:, a list of {name, type, reason}.
func (p *parser) ignore(f field) []Ignore {
	if isNull(f.val) {
		return nil
	}
	if f.val.Kind != yaml.SequenceNode {
		p.errorf(f.val, f.path, "must be a list of {name:, type:, reason:} entries, got %s", p.describe(f.val))
		return nil
	}
	var out []Ignore
	seen := map[string]int{}
	for i, c := range f.val.Content {
		c = deref(c)
		path := index(f.path, i)
		if c.Kind != yaml.MappingNode {
			p.errorf(c, path, "must be a mapping like {name: mta-sts.example.com, type: A, reason: \"…\"}, got %s", p.describe(c))
			continue
		}
		keys := p.known(p.entries(c, path), path, ignoreKeys...)
		ig := Ignore{Line: c.Line}
		ok := true
		var nameNode *yaml.Node
		if k, has := keys["name"]; !has {
			p.errorf(c, path, "name is required: the owner name of the conflicting record, e.g. mta-sts.example.com")
			ok = false
		} else if v, good := p.str(k); good {
			n, err := ownerName(v)
			if err != nil {
				p.errorf(k.val, k.path, "%s; give the owner name of the conflicting record", p.cause(k.val, err, "an owner name"))
				ok = false
			}
			ig.Name, nameNode = n, k.val
		} else {
			ok = false
		}
		if k, has := keys["type"]; has {
			if v, good := p.str(k); good {
				t := strings.ToUpper(strings.TrimSpace(v))
				if !isTypeName(t) {
					p.errorf(k.val, k.path, "%v is not a DNS record type; write e.g. A, AAAA, TXT or CNAME, or leave type out for any type", p.show(k.val))
					ok = false
				}
				ig.Type = t
			}
		}
		if k, has := keys["reason"]; !has {
			p.errorf(c, path, "reason is required: say why this conflict is accepted, so the next reader knows")
			ok = false
		} else if v, good := p.str(k); good && strings.TrimSpace(v) != "" {
			ig.Reason = strings.TrimSpace(v)
		} else {
			if good {
				p.errorf(k.val, k.path, "is empty: say why this conflict is accepted")
			}
			ok = false
		}
		if !ok {
			continue
		}
		if first, dup := seen[ig.String()]; dup {
			p.errorf(c, path, "%v is listed twice (first at line %d); keep one", p.showAs(nameNode, ig.String()), first)
			continue
		}
		seen[ig.String()] = ig.Line
		out = append(out, ig)
	}
	return out
}

// isTypeName reports whether t looks like a DNS type mnemonic (A, TXT,
// TYPE65280): letters and digits, starting with a letter.
func isTypeName(t string) bool {
	if t == "" || len(t) > 16 || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	for _, c := range t {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// ownerName normalises a record's owner name: service labels such as
// _mta-sts or _25._tcp in front of a domain name, then the domain.
func ownerName(name string) (string, error) {
	rest := strings.TrimSuffix(name, ".")
	var service []string
	for strings.HasPrefix(rest, "_") {
		label, after, _ := strings.Cut(rest, ".")
		for _, c := range strings.ToLower(label[1:]) {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return "", fmt.Errorf("name %q: label %q is not a service label", name, label)
			}
		}
		if len(label) < 2 || after == "" {
			return "", fmt.Errorf("name %q: a service label must come before a domain name", name)
		}
		service = append(service, strings.ToLower(label))
		rest = after
	}
	d, err := dnsname.Normalize(rest)
	if err != nil {
		return "", err
	}
	return strings.Join(append(service, d), "."), nil
}
