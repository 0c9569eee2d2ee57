package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/dnsname"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"full.yaml", "minimal.yaml", "mailcow.yaml"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(base))
	f.Add([]byte(base + "tlsrpt:\n  rua: [mailto:a@example.com]\nzones:\n  example.com: cf\nttl: 60\n"))
	f.Add([]byte("a: &x [1, 2]\nb: *x\n"))
	f.Add([]byte("policy:\n  <<: {mode: none}\n"))
	f.Add([]byte("---\n~\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, cfgPath, opts(defaultEnv(), defaultFiles()))
		if err != nil {
			if !strings.Contains(string(data), secretToken) {
				assertNoSecret(t, err.Error())
			}
			return
		}
		if err := checkInvariants(cfg); err != nil {
			t.Fatalf("Parse accepted a config that breaks its own rules: %v\n%s", err, data)
		}
	})
}

// checkInvariants restates, independently of the parser, what a
// successfully parsed Config promises.
func checkInvariants(c *Config) error {
	if !c.Policy.Mode.Valid() || c.Policy.MaxAge < 1 || c.Policy.MaxAge > mtasts.MaxMaxAge {
		return fmt.Errorf("policy %+v", c.Policy)
	}
	if len(c.Policy.MX) > 0 || c.Policy.Mode == mtasts.ModeNone {
		if err := c.Policy.MTASTS().Validate(); err != nil {
			return fmt.Errorf("policy: %w", err)
		}
	}
	if c.PolicyHost == "" && c.Mailcow == nil {
		return fmt.Errorf("no policy host and no mailcow")
	}
	if c.PolicyHost != "" {
		if n, err := dnsname.Normalize(c.PolicyHost); err != nil || n != c.PolicyHost {
			return fmt.Errorf("policy host %q not canonical", c.PolicyHost)
		}
	}
	if c.TTL < time.Second || c.TTL > maxTTL*time.Second {
		return fmt.Errorf("ttl %v", c.TTL)
	}
	if c.Layout != LayoutDirect && c.Layout != LayoutDelegated {
		return fmt.Errorf("layout %q", c.Layout)
	}
	if (c.Layout == LayoutDelegated) != (c.Primary != "") {
		return fmt.Errorf("layout %s with primary %q", c.Layout, c.Primary)
	}
	if c.Primary != "" && c.Mailcow == nil && !slices.Contains(c.Domains, c.Primary) {
		return fmt.Errorf("primary %s not in domains", c.Primary)
	}
	if len(c.Domains) == 0 && c.Mailcow == nil {
		return fmt.Errorf("no domains")
	}
	if !slices.IsSorted(c.Domains) || len(slices.Compact(slices.Clone(c.Domains))) != len(c.Domains) {
		return fmt.Errorf("domains not sorted and unique: %v", c.Domains)
	}
	for _, d := range c.Domains {
		if n, err := dnsname.Normalize(d); err != nil || n != d {
			return fmt.Errorf("domain %q not canonical", d)
		}
		if _, _, ok := c.ZoneFor(d); !ok && c.Provider == "" {
			return fmt.Errorf("domain %s has no provider", d)
		}
	}
	if _, ok := c.Providers[c.Provider]; c.Provider != "" && !ok {
		return fmt.Errorf("default provider %q undefined", c.Provider)
	}
	for z, p := range c.Zones {
		if _, ok := c.Providers[p]; !ok {
			return fmt.Errorf("zone %s: provider %q undefined", z, p)
		}
		if n, err := dnsname.Normalize(z); err != nil || n != z {
			return fmt.Errorf("zone %q not canonical", z)
		}
	}
	for name, p := range c.Providers {
		if !validProviderName(name) || p.Name != name || p.RateLimit < 0 || p.Burst < 0 || p.Concurrency < 0 {
			return fmt.Errorf("provider %+v", p)
		}
		keys, ok := schema(p.Type)
		if !ok {
			return fmt.Errorf("provider %s: unknown type %q accepted", name, p.Type)
		}
		for _, k := range keys {
			if k.Required && p.Values()[k.Name] == "" {
				return fmt.Errorf("provider %s: required %s empty", name, k.Name)
			}
		}
	}
	if c.TLSRPT != nil {
		if len(c.TLSRPT.RUA) == 0 {
			return fmt.Errorf("tlsrpt without rua")
		}
		for _, u := range c.TLSRPT.RUA {
			if err := mtasts.ValidateRUA(u); err != nil {
				return err
			}
		}
	}
	if m := c.Mailcow; m != nil {
		if m.APIKey.IsZero() || checkMailcowURL(m.URL) != nil || (m.ManagePolicy && c.Policy.File != "") {
			return fmt.Errorf("mailcow %+v", m)
		}
	}
	for _, w := range c.Warnings {
		if !strings.HasPrefix(w, cfgPath+":") {
			return fmt.Errorf("warning %q does not start with the file", w)
		}
	}
	return nil
}
