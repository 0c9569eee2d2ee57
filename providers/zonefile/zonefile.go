// Package zonefile is a libdns provider that keeps each zone in an RFC 1035
// zone file on disk (<Directory>/<zone>.zone), for users who keep BIND zone
// files in git or want to review every change as a diff.
//
// Every write is all-or-nothing: the whole zone is checked, the SOA serial is
// bumped, and the file is replaced atomically (internal/safefile: a regular
// file or a symlink to one, mode, owner and group kept), so on error the
// zone file is exactly as it was. Comments and formatting of the original
// file are not preserved; every record is.
//
// Other programs may edit the same zone files. Every write holds the
// advisory lock <zone file>.lock (flock(2), exclusive; the zone file's real
// path, symlinks resolved, plus ".lock") from its read to its rename, and
// checks right before the rename that the file is still the one it read;
// if not, it reads the file again and makes its changes on the new text.
// Begin opens a zone for a batch of changes written once, with one step of
// the SOA serial, however many records change.
//
// Domain names inside record data (CNAME, MX, NS and SRV targets, …) are taken
// as fully qualified whether or not they end in a dot, as most provider APIs do,
// so "mail.example.com" never turns into "mail.example.com.example.com.".
//
// A TTL of 0 in an added record means "the zone default": the TTL of the RRset
// it joins, or else the SOA record's TTL. A sub-second TTL writes TTL 0.
package zonefile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"
)

// Provider reads and writes <Directory>/<zone>.zone (zone without trailing
// dot, lower-case), e.g. zones/example.com.zone. It is safe for concurrent use
// within one process; writes to one zone are serialised, different zones
// proceed in parallel.
type Provider struct {
	// Directory holds the zone files.
	Directory string

	mu    sync.Mutex
	locks map[string]chan struct{}

	// now is replaceable in tests so date-based serials are deterministic.
	now func() time.Time
}

// New returns a Provider for the zone files in dir.
func New(dir string) *Provider {
	return &Provider{Directory: dir}
}

var (
	_ libdns.RecordGetter   = (*Provider)(nil)
	_ libdns.RecordAppender = (*Provider)(nil)
	_ libdns.RecordSetter   = (*Provider)(nil)
	_ libdns.RecordDeleter  = (*Provider)(nil)
	_ libdns.ZoneLister     = (*Provider)(nil)
)

// GetRecords returns every IN-class record of the zone, names relative to the
// zone ("@" for the apex), the SOA included (as a libdns.RR). Records outside
// the zone's origin are ignored, as a DNS server would, but kept in the file.
func (p *Provider) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	z, err := p.load(ctx, zone)
	if err != nil {
		return nil, err
	}
	out := make([]libdns.Record, 0, len(z.records))
	for _, rr := range z.records {
		if rec, ok := toLibdns(rr, z.origin); ok {
			out = append(out, rec)
		}
	}
	return out, nil
}

// AppendRecords adds recs to the zone, skipping records already present with
// the same name, type and data, and returns the records it added.
func (p *Provider) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return p.update(ctx, zone, appendChange(recs))
}

// SetRecords makes the records in recs the only members of their (name, type)
// RRsets and returns them as they now stand in the zone.
func (p *Provider) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return p.update(ctx, zone, setChange(recs))
}

// DeleteRecords deletes the zone records matching recs and returns them. An
// empty Type, zero TTL or empty Data in an input record matches any value; the
// name is required. The SOA is never deleted by a wildcard match.
func (p *Provider) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return p.update(ctx, zone, deleteChange(recs))
}

// A change edits a zone in memory and returns the records it touched.
type change func(*zoneData) ([]libdns.Record, error)

func appendChange(recs []libdns.Record) change {
	return func(z *zoneData) ([]libdns.Record, error) {
		added, err := z.appendRecords(recs)
		return z.export(added), err
	}
}

func setChange(recs []libdns.Record) change {
	return func(z *zoneData) ([]libdns.Record, error) {
		set, err := z.setRecords(recs)
		return z.export(set), err
	}
}

func deleteChange(recs []libdns.Record) change {
	return func(z *zoneData) ([]libdns.Record, error) {
		deleted, err := z.deleteRecords(recs)
		return z.export(deleted), err
	}
}

// ListZones lists the zones that have a <zone>.zone file in Directory, as
// fully qualified names with a trailing dot.
func (p *Provider) ListZones(ctx context.Context) ([]libdns.Zone, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.Directory == "" {
		return nil, errNoDirectory
	}
	entries, err := os.ReadDir(p.Directory)
	if err != nil {
		return nil, fmt.Errorf("list zone files in %s: %w", p.Directory, err)
	}
	var zones []libdns.Zone
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".zone")
		if !ok || name == "" || e.IsDir() {
			continue
		}
		if _, ok := dns.IsDomainName(name); !ok {
			continue
		}
		zones = append(zones, libdns.Zone{Name: dns.Fqdn(strings.ToLower(name))})
	}
	return zones, nil
}

var errNoDirectory = errors.New("zonefile provider: Directory is not set: give the directory that holds the <zone>.zone files")

// zonePath turns a zone name in any case, with or without the trailing dot,
// into its origin ("example.com.") and the path of its file.
func (p *Provider) zonePath(zone string) (origin, path string, err error) {
	if p.Directory == "" {
		return "", "", errNoDirectory
	}
	name := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(zone), "."))
	if name == "" {
		return "", "", fmt.Errorf("zone %q: empty zone name: give the zone's domain, e.g. example.com", zone)
	}
	// The name becomes part of a path: only plain host-name characters may
	// pass, so no zone name can reach outside Directory.
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", "", fmt.Errorf("zone %q: invalid character %q in zone name: use the zone's domain in A-label (punycode) form", zone, c)
		}
	}
	if _, ok := dns.IsDomainName(name); !ok || strings.Contains(name, "..") || strings.HasPrefix(name, ".") {
		return "", "", fmt.Errorf("zone %q: not a valid domain name", zone)
	}
	return name + ".", filepath.Join(p.Directory, name+".zone"), nil
}

// lock serialises writers of one zone file; waiting honours ctx.
func (p *Provider) lock(ctx context.Context, path string) (unlock func(), err error) {
	p.mu.Lock()
	if p.locks == nil {
		p.locks = make(map[string]chan struct{})
	}
	ch, ok := p.locks[path]
	if !ok {
		ch = make(chan struct{}, 1)
		p.locks[path] = ch
	}
	p.mu.Unlock()

	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for lock on zone file %s: %w", path, ctx.Err())
	}
}

func (p *Provider) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

func (p *Provider) load(ctx context.Context, zone string) (*zoneData, error) {
	origin, path, err := p.zonePath(zone)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return readZone(ctx, path, origin)
}

// update makes one change as one edit of the zone file: under the lock,
// written once if the records changed.
func (p *Provider) update(ctx context.Context, zone string, c change) ([]libdns.Record, error) {
	e, err := p.Begin(ctx, zone)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	result, err := e.apply(c)
	if err != nil {
		return nil, err
	}
	if err := e.Commit(ctx); err != nil {
		return nil, err
	}
	return result, nil
}
