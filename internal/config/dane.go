package config

import (
	"fmt"
	"sort"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/mtasts-sync/mtasts-sync/internal/dane"
)

// DANE asks for TLSA records (RFC 7672) at _<port>._tcp.<host> for every
// host and port: `3 1 1` of the current key, and of the next one while a
// key change is prepared.
type DANE struct {
	// Hosts are the MX hosts, normalised and sorted; default [PolicyHost].
	// Empty with mailcow: and no policy_host: the policy host found at run
	// time (mailcow's hostname).
	Hosts []string
	// Ports are the TCP ports, sorted; default [25].
	Ports []int
	// CertFile is the PEM certificate (or key) the hosts serve now,
	// absolute; "" reads the key each host serves over STARTTLS.
	CertFile string
	// NextCertFile is the PEM certificate or key about to be deployed,
	// absolute; "" when no key change is prepared.
	NextCertFile string
	// Line is where dane: starts, for messages.
	Line int
}

var daneKeys = []string{"hosts", "cert_file", "next_cert_file", "ports"}

// daneSection reads dane:. It runs after policy_host is known.
func (p *parser) daneSection(f field, cfg *Config) *DANE {
	d := &DANE{Line: f.key.Line}
	fs, ok := p.section(f, daneKeys...)
	if !ok {
		return d
	}
	if h, ok := fs["hosts"]; ok {
		items, ok := p.list(h, "[mail.example.com]")
		if ok && len(items) == 0 {
			p.errorf(h.val, h.path, "is empty; list the MX hosts to publish TLSA records for, or remove hosts to use policy_host")
		}
		seen := map[string]bool{}
		for _, it := range items {
			host := p.domain(it.node, it.path, "host name")
			if host == "" {
				continue
			}
			if seen[host] {
				p.warnf(it.node, it.path, "%s is listed twice; remove one", host)
				continue
			}
			seen[host] = true
			d.Hosts = append(d.Hosts, host)
			if _, _, ok := cfg.ZoneFor(host); !ok && cfg.Provider == "" {
				p.errorf(it.node, it.path, "%s is in no configured zone; add a zones: entry for the zone holding it, or set provider: <name> to discover it", host)
			}
		}
	} else if cfg.PolicyHost != "" {
		d.Hosts = []string{cfg.PolicyHost}
	} else if cfg.Mailcow == nil {
		p.errorf(f.key, f.path, "hosts is required when policy_host is not set; add hosts: [<your MX host, e.g. mail.example.com>]")
	}
	sort.Strings(d.Hosts)

	d.Ports = []int{25}
	if pf, ok := fs["ports"]; ok {
		d.Ports = p.danePorts(pf)
	}

	var cur, next *dane.Key
	if c, ok := fs["cert_file"]; ok {
		d.CertFile, cur = p.daneKeyFile(c)
	}
	if n, ok := fs["next_cert_file"]; ok {
		d.NextCertFile, next = p.daneKeyFile(n)
	}
	if cur != nil && next != nil && cur.Digest() == next.Digest() {
		p.warnf(fs["next_cert_file"].val, fs["next_cert_file"].path,
			"holds the same key as cert_file (3 1 1 %s): there is no key change to prepare; remove next_cert_file or point it at the new key", cur.Digest())
	}
	return d
}

func (p *parser) danePorts(f field) []int {
	if isNull(f.val) || f.val.Kind != yaml.SequenceNode {
		p.errorf(f.val, f.path, "must be a list of TCP ports like [25], got %s", p.describe(f.val))
		return []int{25}
	}
	if len(f.val.Content) == 0 {
		p.errorf(f.val, f.path, "is empty; list ports like [25], or remove ports for 25")
	}
	var out []int
	seen := map[int]bool{}
	for i, c := range f.val.Content {
		c = deref(c)
		path := index(f.path, i)
		n, err := strconv.Atoi(c.Value)
		if c.Kind != yaml.ScalarNode || err != nil || n < 1 || n > 65535 {
			p.errorf(c, path, "%v is not a TCP port; use 25 (SMTP), or 465/587 for submission", p.show(c))
			continue
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

// daneKeyFile resolves a cert_file path and reads its key now, so a wrong
// path or a file without a key is reported before anything is sent.
func (p *parser) daneKeyFile(f field) (string, *dane.Key) {
	v, ok := p.str(f)
	if !ok || v == "" {
		p.errorf(f.val, f.path, "is empty; give the path of a PEM certificate or key, or remove the key")
		return "", nil
	}
	path := p.abs(v)
	k, err := dane.ReadFile(path)
	if err != nil {
		p.errorf(f.val, f.path, "%s; give a PEM certificate, public key or private key (relative paths start at %s)", p.cause(f.val, err, "a readable PEM certificate or key file"), p.dir)
		return path, nil
	}
	return path, &k
}

// String describes where the keys come from, for messages.
func (d *DANE) String() string {
	cur := "the key each host serves"
	if d.CertFile != "" {
		cur = d.CertFile
	}
	if d.NextCertFile != "" {
		return fmt.Sprintf("current %s, next %s", cur, d.NextCertFile)
	}
	return "current " + cur
}
