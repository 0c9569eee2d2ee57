package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/mailcow"
)

// Level grades one finding of Validate.
type Level string

const (
	// LevelOK: checked and fine.
	LevelOK Level = "ok"
	// LevelNote: cannot be known offline; said so the user knows what is
	// left for the first run.
	LevelNote Level = "note"
	// LevelWarning: legal but doubtful.
	LevelWarning Level = "warning"
	// LevelError: a run would fail on it.
	LevelError Level = "error"
)

// Finding is one result of Validate.
type Finding struct {
	Level Level `json:"level"`
	// Subject names what was checked: "provider files", "domain
	// example.org", "policy.file", …
	Subject string `json:"subject"`
	Message string `json:"message"`
}

// Validate checks, without sending anything anywhere, what the config
// loader could not: that zone directories and the policy file's directory
// exist and are writable, that zone files parse, that mailcow.conf is
// readable, and that every domain of the config maps to a zone where that
// is knowable offline (zones: entries, or a zonefile provider's files).
// Credentials and zones of remote providers can only be tried by a run;
// those get a note. The findings are sorted: errors first.
func (e *Engine) Validate(ctx context.Context) []Finding {
	var out []Finding
	add := func(l Level, subject, format string, args ...any) {
		out = append(out, Finding{Level: l, Subject: subject, Message: fmt.Sprintf(format, args...)})
	}
	for _, w := range e.cfg.Warnings {
		add(LevelWarning, "config", "%s", w)
	}
	names := make([]string, 0, len(e.providers))
	for n := range e.providers {
		names = append(names, n)
	}
	sort.Strings(names)
	broken := map[string]bool{} // zonefile providers whose directory is unusable
	for _, name := range names {
		p := e.providers[name]
		subject := "provider " + name
		if !e.offline(name) {
			add(LevelNote, subject, "%s settings are complete; its credentials and zones are only tried by a run (`mtasts-sync plan`)", p.Type)
			continue
		}
		dir := zonefileDir(e.cfg, e.cfg.Providers[name])
		if err := writableDir(dir); err != nil {
			add(LevelError, subject, "zone directory: %v", err)
			broken[name] = true
			continue
		}
		zones, _, err := p.ListZones(ctx)
		if err != nil {
			add(LevelError, subject, "listing the zone files in %s: %v", dir, err)
			continue
		}
		add(LevelOK, subject, "zone directory %s is writable and holds %d zone file(s)", dir, len(zones))
	}
	zones := slices.Sorted(maps.Keys(e.cfg.Zones))
	for _, z := range zones {
		prov := e.cfg.Zones[z]
		if !e.offline(prov) || broken[prov] {
			continue
		}
		recs, err := e.providers[prov].Zone(z).Records(ctx)
		if err != nil {
			add(LevelError, "zone "+z, "provider %s: %v", prov, err)
			continue
		}
		add(LevelOK, "zone "+z, "zone file of provider %s parses (%d records)", prov, len(recs))
	}
	for _, d := range e.cfg.Domains {
		subject := "domain " + d
		if zone, prov, ok := e.cfg.ZoneFor(d); ok {
			add(LevelOK, subject, "in zone %s (provider %s, from zones:)", zone, prov)
			continue
		}
		prov := e.cfg.Provider
		if broken[prov] {
			continue
		}
		if !e.offline(prov) {
			add(LevelNote, subject, "its zone at provider %s is found by the first run; map it under zones: to fix it now", prov)
			continue
		}
		zone, err := e.providers[prov].FindZone(ctx, d, "")
		if err != nil {
			add(LevelError, subject, "%v", err)
			continue
		}
		add(LevelOK, subject, "in zone %s (provider %s, found among its zone files)", zone, prov)
	}
	if mc := e.cfg.Mailcow; mc != nil {
		add(LevelNote, "mailcow", "the domains at %s are listed by a run, and each is mapped to a zone then", mc.URL)
		if mc.Conf != "" {
			if _, err := mailcow.LoadConf(mc.Conf); err != nil {
				add(LevelError, "mailcow.conf", "%v", err)
			} else {
				add(LevelOK, "mailcow.conf", "%s is readable", mc.Conf)
			}
		}
	}
	if f := e.cfg.Policy.File; f != "" {
		if err := policyFileWritable(f); err != nil {
			add(LevelError, "policy.file", "%v", err)
		} else {
			add(LevelOK, "policy.file", "%s can be written", f)
		}
	}
	if e.cfg.PolicySource() != config.PolicyMailcowServed {
		if p, err := e.Policy(); err != nil {
			add(LevelError, "policy", "%v", err)
		} else {
			add(LevelOK, "policy", "mode %s, max_age %d, id %s", p.Mode, p.MaxAge, p.ID())
		}
	}
	rank := map[Level]int{LevelError: 0, LevelWarning: 1, LevelNote: 2, LevelOK: 3}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Level] < rank[out[j].Level] })
	return out
}

// offline reports whether the provider's zones can be read without a
// network: zone files on disk.
func (e *Engine) offline(provider string) bool {
	p, ok := e.providers[provider]
	return ok && p.Type == "zonefile"
}

func zonefileDir(cfg *config.Config, p config.Provider) string {
	dir := p.Settings["directory"]
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(cfg.Dir, dir)
	}
	return dir
}

// writableDir checks that dir is a directory a file can be created in, by
// creating (and removing) one: permission bits say nothing about a
// read-only mount or an ACL.
func writableDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist; create it or fix the path", dir)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".mtasts-sync-validate-*")
	if err != nil {
		return fmt.Errorf("%s is not writable for this user: %w", dir, errors.Unwrap(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// policyFileWritable checks that the policy file, if it exists, is a
// regular file, and that its directory takes new files (it is replaced
// atomically, through a temporary file beside it).
func policyFileWritable(path string) error {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return writableDir(filepath.Dir(path))
}
