// Package planfile saves a plan to a file and reads it back: the plan
// `plan -out F` wrote is the plan `show F` prints and `apply F` executes.
//
// The file is one JSON document (see README, "Saved plans"). It holds
// everything apply needs except credentials: every zone's changes with
// their full old and new records, the policy steps with their payload, the
// records the plan saw at each name it touches with their fingerprint, the
// config's path and content hash, a fingerprint of the non-secret settings
// of each provider the plan uses, the tool's version and the creation
// time. It never holds a secret: provider secrets are neither stored nor
// hashed. Read refuses a file of another format_version.
package planfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// FormatVersion is the version of the file's format. A file of another
// version is refused, never guessed at.
const FormatVersion = 1

// MaxSize bounds what Read accepts: a plan of many thousand domains is a
// few megabytes.
const MaxSize = 64 << 20

// File is a saved plan.
type File struct {
	FormatVersion int       `json:"format_version"`
	ToolVersion   string    `json:"tool_version"`
	Created       time.Time `json:"created"`
	Config        Config    `json:"config"`

	Steps    []Step                 `json:"steps"`
	Zones    []Zone                 `json:"zones"`
	Skipped  []reconcile.Skipped    `json:"skipped"`
	Retiring []reconcile.Retirement `json:"retiring"`
	Orphans  []reconcile.Orphan     `json:"orphans"`
	Warnings []string               `json:"warnings"`
	// Expected is the policy each domain must serve before its id goes out
	// (the publish gate's yardstick at apply time).
	Expected map[string]Policy `json:"expected_policies"`
	// AliasOf maps each mailcow alias domain to its target.
	AliasOf map[string]string `json:"alias_of"`
}

// Config names the config the plan was made from.
type Config struct {
	// Path is the config file's absolute path: apply reads credentials
	// from it unless told another with --config.
	Path string `json:"path"`
	// SHA256 is the fingerprint of its content when the plan was made.
	SHA256 string `json:"sha256"`
	// Providers fingerprints each provider account the plan's zones use.
	Providers map[string]Provider `json:"providers"`
}

// Provider is what matters of a provider account for applying a plan to
// it: its type and its non-secret settings (which account, which server).
// Secret settings (tokens, keys) are left out, so rotating a token does
// not make a plan stale and no secret is ever stored or hashed.
type Provider struct {
	Type     string `json:"type"`
	Settings string `json:"settings"` // Fingerprint of the non-secret settings
}

// Step is a policy step with its payload.
type Step struct {
	Kind    string                `json:"kind"`
	Domain  string                `json:"domain,omitempty"` // a policy.dir file's domain
	Target  string                `json:"target"`
	Action  reconcile.Action      `json:"action"`
	Old     []string              `json:"old,omitempty"`
	New     []string              `json:"new,omitempty"`
	Reason  string                `json:"reason,omitempty"`
	Content string                `json:"content,omitempty"` // the policy file's new content
	Mailcow *reconcile.MailcowSTS `json:"mailcow,omitempty"`
	// Seen fingerprints what the step replaces as the plan saw it; ""
	// when there was nothing.
	Seen string `json:"seen"`
}

// Zone is one zone's plan.
type Zone struct {
	Zone           string   `json:"zone"`
	Provider       string   `json:"provider"`
	Domains        []string `json:"domains"`
	InSync         []string `json:"in_sync"`
	ConfirmedByDNS bool     `json:"confirmed_by_dns"`
	Error          string   `json:"error,omitempty"`
	Changes        []Change `json:"changes"`
	// Seen holds, for every name the plan writes, the records the plan
	// saw there and their fingerprint.
	Seen []Name `json:"seen"`
}

// Change is one change with its full records.
type Change struct {
	Domain string           `json:"domain"`
	Kind   string           `json:"kind"`
	Name   string           `json:"name"`
	Type   string           `json:"type"`
	Action reconcile.Action `json:"action"`
	Old    []string         `json:"old"`
	New    []string         `json:"new"`
	Reason string           `json:"reason,omitempty"`
	Why    string           `json:"why,omitempty"`
	Gated  bool             `json:"gated,omitempty"`
	Have   []Record         `json:"have"`
	Want   []Record         `json:"want"`
	Keep   []Record         `json:"keep"`
}

// Record is one DNS record.
type Record struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
	TTL   int64  `json:"ttl"` // seconds
}

// Name is what the plan saw at one name.
type Name struct {
	Name        string   `json:"name"`
	Records     []Record `json:"records"`
	Fingerprint string   `json:"fingerprint"`
}

// Policy is an MTA-STS policy.
type Policy struct {
	Mode   string   `json:"mode"`
	MaxAge int64    `json:"max_age"`
	MX     []string `json:"mx"`
}

// Meta is what New records besides the plan.
type Meta struct {
	ToolVersion string
	Created     time.Time
	// ConfigPath is the config file's absolute path, ConfigContent its bytes.
	ConfigPath    string
	ConfigContent []byte
	Config        *config.Config
}

// New saves p: it converts the plan, fingerprints every name p writes and
// every provider account its zones use.
func New(p reconcile.Plan, m Meta) File {
	f := File{
		FormatVersion: FormatVersion,
		ToolVersion:   m.ToolVersion,
		Created:       m.Created.UTC().Truncate(time.Second),
		Config:        Config{Path: m.ConfigPath, SHA256: reconcile.FingerprintBytes(m.ConfigContent), Providers: map[string]Provider{}},
		Steps:         []Step{},
		Zones:         []Zone{},
		Skipped:       nonNil(p.Skipped),
		Retiring:      nonNil(p.Retiring),
		Orphans:       nonNil(p.Orphans),
		Warnings:      nonNil(p.Warnings),
		Expected:      map[string]Policy{},
		AliasOf:       map[string]string{},
	}
	for _, s := range p.Steps {
		f.Steps = append(f.Steps, Step{Kind: s.Kind, Domain: s.Domain, Target: s.Target, Action: s.Action, Old: s.Old, New: s.New, Reason: s.Reason,
			Content: string(s.Content), Mailcow: s.MailcowSTS, Seen: s.Seen})
	}
	for _, z := range p.Zones {
		fz := Zone{Zone: z.Zone, Provider: z.Provider, Domains: nonNil(z.Domains), InSync: nonNil(z.InSync), ConfirmedByDNS: z.ConfirmedByDNS,
			Changes: []Change{}, Seen: []Name{}}
		if z.Err != nil {
			fz.Error = z.Err.Error()
		}
		for _, c := range z.Changes {
			fz.Changes = append(fz.Changes, Change{Domain: c.Domain, Kind: c.Kind, Name: c.Name, Type: c.Type, Action: c.Action,
				Old: nonNil(c.Old), New: nonNil(c.New), Reason: c.Reason, Why: c.Why, Gated: c.Gated,
				Have: records(c.Have), Want: records(c.Want), Keep: records(c.Keep)})
		}
		for _, name := range z.Touched() {
			seen := reconcile.At(z.Seen, name)
			fz.Seen = append(fz.Seen, Name{Name: name, Records: records(seen), Fingerprint: reconcile.Fingerprint(seen)})
		}
		f.Zones = append(f.Zones, fz)
		if z.Provider != "" && m.Config != nil {
			if pc, ok := m.Config.Providers[z.Provider]; ok {
				f.Config.Providers[z.Provider] = ProviderPrint(pc)
			}
		}
	}
	for d, pol := range p.Expected {
		f.Expected[d] = Policy{Mode: string(pol.Mode), MaxAge: pol.MaxAge, MX: nonNil(pol.MX)}
	}
	for a, t := range p.AliasOf {
		f.AliasOf[a] = t
	}
	return f
}

// ProviderPrint fingerprints what of a provider account matters for a
// plan: its type and non-secret settings.
func ProviderPrint(p config.Provider) Provider {
	keys := make([]string, 0, len(p.Settings))
	for k := range p.Settings { // the secret ones are in p.Secrets
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, p.Settings[k])
	}
	return Provider{Type: p.Type, Settings: reconcile.FingerprintBytes([]byte(b.String()))}
}

// Plan returns the plan the file holds, ready to apply: the same value New
// was given, except the records' provider handles (Raw), which apply binds
// again from the zone it reads.
func (f File) Plan() reconcile.Plan {
	p := reconcile.Plan{Skipped: f.Skipped, Retiring: f.Retiring, Orphans: f.Orphans, Warnings: f.Warnings, Expected: map[string]mtasts.Policy{}, AliasOf: map[string]string{}}
	for _, s := range f.Steps {
		st := reconcile.Step{Kind: s.Kind, Domain: s.Domain, Target: s.Target, Action: s.Action, Old: s.Old, New: s.New, Reason: s.Reason,
			MailcowSTS: s.Mailcow, Seen: s.Seen}
		if s.Content != "" {
			st.Content = []byte(s.Content)
		}
		p.Steps = append(p.Steps, st)
	}
	for _, z := range f.Zones {
		zp := reconcile.ZonePlan{Zone: z.Zone, Provider: z.Provider, Domains: z.Domains, InSync: z.InSync, ConfirmedByDNS: z.ConfirmedByDNS}
		if z.Error != "" {
			zp.Err = errors.New(z.Error)
		}
		for _, c := range z.Changes {
			zp.Changes = append(zp.Changes, reconcile.Change{Domain: c.Domain, Zone: z.Zone, Provider: z.Provider, Kind: c.Kind,
				Name: c.Name, Type: c.Type, Action: c.Action, Old: c.Old, New: c.New, Reason: c.Reason, Why: c.Why, Gated: c.Gated,
				Have: recs(c.Have), Want: recs(c.Want), Keep: recs(c.Keep)})
		}
		for _, n := range z.Seen {
			zp.Seen = append(zp.Seen, recs(n.Records)...)
		}
		p.Zones = append(p.Zones, zp)
	}
	for d, pol := range f.Expected {
		p.Expected[d] = mtasts.Policy{Mode: mtasts.Mode(pol.Mode), MaxAge: pol.MaxAge, MX: pol.MX}
	}
	for a, t := range f.AliasOf {
		p.AliasOf[a] = t
	}
	return p
}

// Fingerprints returns the fingerprint the plan saw at each name it
// writes, by zone and provider ("zone provider") and name.
func (f File) Fingerprints() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, z := range f.Zones {
		k := z.Zone + " " + z.Provider
		if out[k] == nil {
			out[k] = map[string]string{}
		}
		for _, n := range z.Seen {
			out[k][n.Name] = n.Fingerprint
		}
	}
	return out
}

// Write encodes f as indented JSON.
func (f File) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(f)
}

// Marshal returns f as the bytes of a plan file.
func (f File) Marshal() ([]byte, error) {
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Read decodes a plan file. It refuses a file of another format version,
// unknown fields, a fingerprint that does not match the records saved
// beside it, and trailing data.
func Read(r io.Reader) (File, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return File{}, err
	}
	if len(data) > MaxSize {
		return File{}, fmt.Errorf("larger than %d MiB: not a plan file", MaxSize>>20)
	}
	version, err := formatVersion(data)
	switch {
	case err != nil:
		return File{}, fmt.Errorf("not a plan file (JSON): %w", err)
	case version == nil:
		return File{}, errors.New("not a plan file: it has no format_version")
	case *version != FormatVersion:
		return File{}, fmt.Errorf("made with plan file format %d; this mtasts-sync reads format %d only: run plan again with this version", *version, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return File{}, fmt.Errorf("not a valid plan file: %w", err)
	}
	if dec.More() {
		return File{}, errors.New("not a valid plan file: data after the plan")
	}
	for _, z := range f.Zones {
		for _, n := range z.Seen {
			if got := reconcile.Fingerprint(recs(n.Records)); got != n.Fingerprint {
				return File{}, fmt.Errorf("zone %s, name %s: the fingerprint does not match the records saved beside it: the file was edited or damaged; run plan again", z.Zone, n.Name)
			}
		}
	}
	return f, nil
}

// Looks reports whether data is a plan file of any format version: a JSON
// object with a format_version. plan --out replaces only such a file.
func Looks(data []byte) bool {
	v, err := formatVersion(data)
	return err == nil && v != nil
}

// formatVersion reads the format_version of a JSON document; nil when it
// has none.
func formatVersion(data []byte) (*int, error) {
	var head struct {
		FormatVersion *int `json:"format_version"`
	}
	err := json.Unmarshal(data, &head)
	return head.FormatVersion, err
}

// Load reads the plan file at path (a regular file, at most 64 MiB).
func Load(path string) (File, error) {
	data, err := safefile.ReadFile(path, MaxSize)
	if err != nil {
		return File{}, err
	}
	f, err := Read(bytes.NewReader(data))
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

func records(rs []reconcile.Record) []Record {
	out := make([]Record, len(rs))
	for i, r := range rs {
		out[i] = Record{Name: r.Name, Type: r.Type, Value: r.Value, TTL: int64(r.TTL / time.Second)}
	}
	return out
}

func recs(rs []Record) []reconcile.Record {
	if len(rs) == 0 {
		return nil
	}
	out := make([]reconcile.Record, len(rs))
	for i, r := range rs {
		out[i] = reconcile.Canonical(reconcile.Record{Name: r.Name, Type: r.Type, Value: r.Value, TTL: time.Duration(r.TTL) * time.Second})
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
