// Package config loads the mtasts-sync YAML config strictly: unknown keys,
// wrong types and bad values are errors that name the file, line and key, all
// of them are reported at once, and all of it happens before any network call.
// ${VAR} references are expanded from the environment and secrets may live in
// files (<key>_file); secrets never appear in errors or in fmt output.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mtasts-sync/mtasts-sync/internal/dnsname"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
)

// Layout says where the TXT records of each domain live.
type Layout string

const (
	// LayoutDirect gives every domain its own _mta-sts and _smtp._tls TXT records.
	LayoutDirect Layout = "direct"
	// LayoutDelegated keeps the TXT records at the primary domain only; every
	// other domain points at them with CNAMEs.
	LayoutDelegated Layout = "delegated"
)

// DefaultTTL is the TTL of the records we create when the config sets none.
const DefaultTTL = time.Hour

// Config is a loaded and fully validated config file.
type Config struct {
	Path        string // the file loaded (as given)
	Dir         string // its directory, absolute
	Policy      Policy
	PolicyHost  string  // normalised; "" only when Mailcow != nil and not given
	TLSRPT      *TLSRPT // nil: leave _smtp._tls alone
	Layout      Layout
	Primary     string // normalised
	TTL         time.Duration
	PublishGate bool
	Domains     []string // normalised, deduplicated, sorted
	// Retire lists the domains being retired (retire:), sorted by domain.
	Retire []Retirement
	// Ignore lists the conflicts the admin acknowledged (ignore:).
	Ignore    []Ignore
	Provider  string // default provider name, "" if none
	Providers map[string]Provider
	Zones     map[string]string // normalised zone (no trailing dot) -> provider name
	Mailcow   *Mailcow
	DANE      *DANE    // nil: no TLSA records are managed
	Warnings  []string // "file:line: key: message" for legal but doubtful settings
}

// Policy is the MTA-STS policy the config asks for.
type Policy struct {
	Mode   mtasts.Mode
	MaxAge int64
	MX     []string // normalised (lower-case; "*." kept); if omitted in the file: [PolicyHost] (when known)
	File   string   // absolute path or ""
	// Dir, when set, holds one policy file per domain, at
	// <Dir>/mta-sts.<domain>/.well-known/mta-sts.txt (absolute path or "").
	Dir string
}

// Retirement is one entry of retire:: a domain whose MTA-STS ends, and the
// time its retirement began (a date alone is midnight UTC).
type Retirement struct {
	Domain string // normalised
	Since  time.Time
	Line   int // line of the entry in the file, for later messages
}

// Retiring returns the retirement of domain, if retire: lists it.
func (c *Config) Retiring(domain string) (Retirement, bool) {
	for _, r := range c.Retire {
		if r.Domain == domain {
			return r, true
		}
	}
	return Retirement{}, false
}

// MTASTS returns the policy in the form that is rendered and hashed.
func (p Policy) MTASTS() mtasts.Policy {
	return mtasts.Policy{Mode: p.Mode, MaxAge: p.MaxAge, MX: p.MX}.Normalize()
}

// TLSRPT is the TLS reporting record the config asks for.
type TLSRPT struct{ RUA []string }

// Provider is one configured DNS provider.
type Provider struct {
	Name, Type string
	// Settings holds the type-specific keys that are not secret, with
	// ${ENV} expanded; Secrets the secret ones, from ${ENV} or *_file.
	Settings    map[string]string
	Secrets     map[string]Secret
	RateLimit   float64 // per second; 0 = provider default
	Burst       int
	Concurrency int
	ChangeRate  float64 // record-change requests per second (change_rate_limit); 0 = provider default
	Line        int     // line of the provider's key in the file, for later error messages
}

// Values returns every setting with the secrets revealed, for building the
// provider's client, which sends them. Never print it.
func (p Provider) Values() map[string]string {
	out := make(map[string]string, len(p.Settings)+len(p.Secrets))
	for k, v := range p.Settings {
		out[k] = v
	}
	for k, v := range p.Secrets {
		out[k] = v.Reveal()
	}
	return out
}

// Mailcow configures domain discovery from a mailcow server.
type Mailcow struct {
	URL                               string
	APIKey                            Secret
	CAFile, Conf                      string
	Tags                              []string
	IncludeAliasDomains, ManagePolicy bool
}

// Secret is a credential from the config (a token, a key). The value is
// kept unexported and shown by nothing: fmt (every verb), encoding/json,
// encoding/text and log/slog print only the key it came from. Reveal hands
// it to the client that sends it; errors name the key, never the value.
type Secret struct {
	value string
	key   string // e.g. mailcow.api_key
}

// NewSecret wraps a value read from key.
func NewSecret(key, value string) Secret { return Secret{value: value, key: key} }

// Reveal returns the value, for the one place that sends it.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether there is no value.
func (s Secret) IsZero() bool { return s.value == "" }

// String names the secret without showing it.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted + " (" + s.key + ")"
}

// Format prints String for every verb, so %#v and %x show nothing either.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// MarshalText serves encoding/json and encoding/text.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue serves log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Key describes one type-specific provider setting.
type Key struct {
	Name     string
	Secret   bool // may be given as <name>_file; never printed
	Required bool
	// Check, if set, says what is wrong with a value that is not empty,
	// without quoting it; the message names the key and, unless the value
	// is secret or came from a variable, shows the value.
	Check func(value string) error
}

// Options supply what Parse needs from outside: the provider schema and,
// for tests, the environment and file system.
type Options struct {
	// ProviderKeys returns the keys a provider type accepts; ok=false means
	// the type is unknown (the error then lists KnownTypes).
	ProviderKeys func(typ string) (keys []Key, ok bool)
	KnownTypes   []string
	LookupEnv    func(string) (string, bool) // default os.LookupEnv
	// ReadFile reads a file of at most limit bytes; default
	// safefile.ReadFile (regular files only).
	ReadFile func(path string, limit int64) ([]byte, error)
	// Now is the clock a retire: date is checked against (not in the
	// future); default time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.ReadFile == nil {
		o.ReadFile = safefile.ReadFile
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProviderKeys == nil {
		o.ProviderKeys = func(string) ([]Key, bool) { return nil, false }
	}
	return o
}

// Size limits of the files the config names.
const (
	MaxConfigFile = 1 * safefile.MiB  // the config itself
	MaxSecretFile = 64 * safefile.KiB // a <key>_file secret
	MaxCAFile     = 1 * safefile.MiB  // mailcow.ca_file
)

// Load reads the config file at path and parses it.
func Load(path string, opts Options) (*Config, error) {
	opts = opts.withDefaults()
	data, err := opts.ReadFile(path, MaxConfigFile)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path, opts)
}

// Parse parses and validates config data; path names the file in messages
// and anchors relative paths. The error joins every problem found.
func Parse(data []byte, path string, opts Options) (*Config, error) {
	opts = opts.withDefaults()
	name := path
	if name == "" {
		name = "config"
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: find its directory: %w", name, err)
	}
	root, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if root == nil {
		return nil, fmt.Errorf("no config in %s: the file holds no settings; add at least policy:, policy_host: and domains:", name)
	}
	p := &parser{file: name, dir: dir, opts: opts, expanded: map[*yaml.Node]expansion{}}
	p.expandTree(root, "")
	cfg := &Config{Path: path, Dir: dir}
	p.config(root, cfg)
	if len(p.problems) > 0 {
		return nil, joinSorted(p.problems)
	}
	sortByLine(p.warnings)
	for _, w := range p.warnings {
		cfg.Warnings = append(cfg.Warnings, w.Error())
	}
	return cfg, nil
}

// decode returns the top node of the single YAML document in data, or nil
// when there is none.
func decode(data []byte) (root *yaml.Node, err error) {
	// The YAML library has panicked on hostile input in the past; a config
	// file must never crash the program.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("not valid YAML (%v)", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document (---); keep one")
	}
	if len(doc.Content) == 0 || isNull(deref(doc.Content[0])) {
		return nil, nil
	}
	return deref(doc.Content[0]), nil
}

func sortByLine(ps []problem) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].line < ps[j].line })
}

func joinSorted(ps []problem) error {
	sortByLine(ps)
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// ZoneFor returns the configured zone and provider for a domain: the longest
// zone in Zones that equals or is a parent of the domain; ok=false when none
// matches (the caller then uses Provider and discovery).
func (c *Config) ZoneFor(domain string) (zone, provider string, ok bool) {
	for z, prov := range c.Zones {
		if len(z) > len(zone) && dnsname.IsSubdomain(domain, z) {
			zone, provider, ok = z, prov, true
		}
	}
	return zone, provider, ok
}

const redacted = "[redacted]"

// validKeys lists the keys of each fixed section, in the order of the docs.
var (
	topKeys     = []string{"policy", "policy_host", "tlsrpt", "layout", "primary", "ttl", "publish_gate", "domains", "retire", "ignore", "provider", "providers", "zones", "mailcow", "dane"}
	policyKeys  = []string{"mode", "max_age", "mx", "file", "dir"}
	tlsrptKeys  = []string{"rua"}
	mailcowKeys = []string{"url", "api_key", "api_key_file", "ca_file", "tags", "include_alias_domains", "manage_policy", "conf"}
	commonKeys  = []string{"type", "rate_limit", "change_rate_limit", "burst", "concurrency"}
)

// PolicySource says where the published policy comes from.
type PolicySource int

const (
	// PolicyFromConfig: the policy: section, served by the user's web
	// server (written to policy.file when set).
	PolicyFromConfig PolicySource = iota
	// PolicyMailcowManaged: the policy: section, put into mailcow's
	// per-domain MTA-STS settings through its API (manage_policy: true).
	PolicyMailcowManaged
	// PolicyMailcowServed: whatever mailcow already serves for each domain
	// (mailcow: without a policy: section).
	PolicyMailcowServed
)

// PolicySource tells where the policy of every domain comes from.
func (c *Config) PolicySource() PolicySource {
	switch {
	case c.Mailcow != nil && c.Mailcow.ManagePolicy:
		return PolicyMailcowManaged
	case c.Mailcow != nil && c.Policy.Mode == "":
		return PolicyMailcowServed
	}
	return PolicyFromConfig
}
