package zonefile

import (
	"bytes"
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

const header = "; managed in part by mtasts-sync: only _mta-sts, _smtp._tls and mta-sts names are ever changed\n"

// nextSerial bumps an SOA serial. A serial that reads as YYYYMMDDnn with a
// real date not after today moves to today's first number (or +1 if already
// there); any other serial gets +1. Either way the step is positive and below
// 2^31, so secondaries see a newer serial under RFC 1982 arithmetic, and +1
// wraps from 4294967295 to 0 as RFC 1982 allows.
func nextSerial(old uint32, now time.Time) uint32 {
	y, m, d := now.UTC().Date()
	today := uint32(y)*1000000 + uint32(m)*10000 + uint32(d)*100
	if looksLikeDate(old) && old < today && today-old < 1<<31 {
		return today
	}
	return old + 1
}

func looksLikeDate(serial uint32) bool {
	day := serial / 100
	y, m, d := int(day/10000), time.Month(day/100%100), int(day%100)
	if y < 1970 {
		return false
	}
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return t.Year() == y && t.Month() == m && t.Day() == d
}

// sorted orders records for a reviewable file: the SOA, the apex NS, then by
// name in DNS canonical order (RFC 4034 §6.1) and by type. The sort is stable
// so data within an RRset keeps its order and diffs stay small.
func (z *zoneData) sorted() []dns.RR {
	out := slices.Clone(z.records)
	rank := func(rr dns.RR) int {
		h := rr.Header()
		switch {
		case h.Rrtype == dns.TypeSOA:
			return 0
		case h.Rrtype == dns.TypeNS && strings.EqualFold(h.Name, z.origin):
			return 1
		}
		return 2
	}
	slices.SortStableFunc(out, func(a, b dns.RR) int {
		return cmp.Or(
			cmp.Compare(rank(a), rank(b)),
			canonicalCompare(a.Header().Name, b.Header().Name),
			cmp.Compare(a.Header().Rrtype, b.Header().Rrtype),
			cmp.Compare(a.Header().Class, b.Header().Class),
		)
	})
	return out
}

func canonicalCompare(a, b string) int {
	la, lb := dns.SplitDomainName(strings.ToLower(a)), dns.SplitDomainName(strings.ToLower(b))
	slices.Reverse(la)
	slices.Reverse(lb)
	return slices.Compare(la, lb)
}

func render(records []dns.RR) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	for _, rr := range records {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// save writes the zone only after checking that the new text reads back to
// the same records, so a quirk in printing some record type can never
// silently corrupt a user's zone.
func (z *zoneData) save() error {
	records := z.sorted()
	text := render(records)
	back, err := parseZone(text, z.origin, z.path)
	if err == nil && !sameText(records, back) {
		err = fmt.Errorf("records differ after reading back")
	}
	if err != nil {
		return fmt.Errorf("zone file %s left unchanged: the rewritten zone would not read back identically (%v); this is a bug in the zonefile provider, please report it", z.path, err)
	}
	return writeFileAtomic(z.path, text)
}

func sameText(a, b []dns.RR) bool {
	return slices.EqualFunc(a, b, func(x, y dns.RR) bool { return x.String() == y.String() })
}

// writeFileAtomic replaces path by a fully written and synced temp file in
// the same directory, so readers and crashes see the old or the new zone,
// never half of one. The file mode is kept; a symlink is followed so the
// link survives.
func writeFileAtomic(path string, data []byte) (err error) {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("write zone file %s: %w (is the directory writable?)", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write zone file %s: %w", path, err)
	}
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("write zone file %s: keep file mode %v: %w", path, mode, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write zone file %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write zone file %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write zone file %s: replace: %w", path, err)
	}
	// Syncing the directory makes the rename itself durable. Some file
	// systems cannot sync a directory; the new zone is in place either way.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
