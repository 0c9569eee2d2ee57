package providers

import (
	"context"
	"fmt"
	"strings"

	"github.com/libdns/libdns"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// Zone is one zone of a provider, as the reconciler reads and writes it.
type Zone struct {
	p    *Provider
	name string // lower-case, no trailing dot
	// batch, when set, takes the reads and writes instead of the
	// provider's client (see Begin).
	batch batchClient
}

// Zone returns the zone named name (with or without the trailing dot).
func (p *Provider) Zone(name string) *Zone {
	return &Zone{p: p, name: strings.ToLower(strings.TrimSuffix(name, "."))}
}

func (z *Zone) client() Client {
	if z.batch != nil {
		return z.batch
	}
	return z.p.client
}

// batchClient collects one zone's writes until Commit (zonefile.Edit).
type batchClient interface {
	Client
	Commit(ctx context.Context) error
	Close()
}

// batcher is a client that can open a zone for a batch of writes.
type batcher interface {
	Begin(ctx context.Context, zone string) (batchClient, error)
}

// Begin opens the zone for a batch of writes made at once by Commit, on
// providers whose client can (zonefile: one write of the file, under its
// lock, per apply); on the others it returns nil, and every WriteRRset
// writes as it goes.
func (z *Zone) Begin(ctx context.Context) (reconcile.Batch, error) {
	b, ok := z.p.client.(batcher)
	if !ok || z.batch != nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, z.p.timeout)
	defer cancel()
	bc, err := b.Begin(ctx, z.fqdn())
	if err != nil {
		return nil, fmt.Errorf("opening the zone: %w", err)
	}
	return &batchZone{Zone: &Zone{p: z.p, name: z.name, batch: bc}}, nil
}

// batchZone is a Zone whose writes wait for Commit.
type batchZone struct{ *Zone }

// Commit is the batch's one write, counted as one request.
func (b *batchZone) Commit(ctx context.Context) error {
	err := b.p.guard(ctx, call{op: "write", records: 1}, "writing zone "+b.name, b.name, b.batch.Commit)
	if err != nil {
		return fmt.Errorf("writing the zone: %w", err)
	}
	return nil
}

// guard runs one client call: in a batch, in memory and not counted;
// otherwise through the provider's guard.
func (z *Zone) guard(ctx context.Context, c call, op string, f func(context.Context) error) error {
	if z.batch != nil {
		return f(ctx)
	}
	return z.p.guard(ctx, c, op, z.name, f)
}

func (b *batchZone) Close() { b.batch.Close() }

// fqdn is how zones are passed to every client: with the trailing dot.
func (z *Zone) fqdn() string { return z.name + "." }

// Records reads the whole zone.
func (z *Zone) Records(ctx context.Context) ([]reconcile.Record, error) {
	var recs []libdns.Record
	err := z.guard(ctx, call{op: "read"}, "reading zone "+z.name, func(ctx context.Context) error {
		var err error
		recs, err = z.client().GetRecords(ctx, z.fqdn())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the zone: %w", err)
	}
	if z.batch == nil { // a batch reads in memory: nothing to pay
		if err := z.p.paidRead(ctx, len(recs)); err != nil {
			return nil, err
		}
	}
	return reconcile.Ingest(z.name, fixCase(recs, z.name), reconcile.IngestOptions{PresentationTXT: z.p.kind.presentationTXT}), nil
}

// WriteRRset replaces our records of one RRset. Foreign records of the
// same RRset are never written: where they exist, our old records are
// deleted one by one and the new ones added, so they survive untouched.
// Where none exist and the provider's SetRecords is safe, one SetRecords
// replaces the RRset in place (atomically on RFC 2136 and Route53).
func (z *Zone) WriteRRset(ctx context.Context, w reconcile.RRsetWrite) error {
	want := make([]libdns.Record, len(w.Want))
	for i, r := range w.Want {
		want[i] = r.Libdns(z.name)
	}
	have := make([]libdns.Record, len(w.Have))
	for i, r := range w.Have {
		have[i] = r.Raw
		// A TXT value read back in presentation form does not match when
		// sent back for deletion (the client escapes it again): send the
		// value itself.
		if have[i] == nil || (r.Type == "TXT" && z.p.kind.presentationTXT) {
			have[i] = r.Libdns(z.name)
		}
	}
	if len(have) > 0 && len(want) > 0 && len(w.Keep) == 0 && z.p.kind.setRRset(len(have)) {
		return z.call(ctx, call{op: "set", records: len(want)}, "setting", w, func(ctx context.Context) error {
			_, err := z.client().SetRecords(ctx, z.fqdn(), want)
			return err
		})
	}
	if len(have) > 0 {
		err := z.call(ctx, call{op: "delete", records: len(have)}, "deleting", w, func(ctx context.Context) error {
			_, err := z.client().DeleteRecords(ctx, z.fqdn(), have)
			return err
		})
		if err != nil {
			return err
		}
		// Once the old record is gone, an interrupt must not stop the new
		// one: the name would stay empty until the next run. The call
		// timeout still bounds it.
		ctx = context.WithoutCancel(ctx)
	}
	if len(want) == 0 {
		return nil
	}
	add := func(ctx context.Context) error {
		_, err := z.client().AppendRecords(ctx, z.fqdn(), want)
		return err
	}
	appendCall := call{op: "append", records: len(want)}
	err := z.call(ctx, appendCall, "adding", w, add)
	if err == nil || ctx.Err() != nil {
		return err
	}
	// The create may have been done and only its answer lost: look before
	// sending it again, so a retry never makes a duplicate.
	done, rerr := z.holds(ctx, w)
	switch {
	case rerr != nil:
		return err
	case done:
		return nil
	}
	return z.call(ctx, appendCall, "adding", w, add)
}

// holds reports whether the zone now holds every record of w.Want.
func (z *Zone) holds(ctx context.Context, w reconcile.RRsetWrite) (bool, error) {
	live, err := z.Records(ctx)
	if err != nil {
		return false, err
	}
	for _, want := range w.Want {
		found := false
		for _, r := range live {
			if reconcile.Same(r, want) {
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

func (z *Zone) call(ctx context.Context, c call, verb string, w reconcile.RRsetWrite, f func(context.Context) error) error {
	err := z.guard(ctx, c, fmt.Sprintf("%s %s %s in zone %s", verb, w.Name, w.Type, z.name), f)
	if err != nil {
		return fmt.Errorf("%s records: %w", verb, err)
	}
	return nil
}

// fixCase repairs names a client failed to make relative to zone because
// the server stores them in another case than the zone's:
// libdns.RelativeName compares case-sensitively, so the rfc2136 client
// hands back `_MTA-STS.EXAMPLE.COM` (no dot) for zone example.com, which
// read as relative names a record that does not exist. A name ending in
// the zone in exactly its case was relative already and is left alone.
func fixCase(recs []libdns.Record, zone string) []libdns.Record {
	for i, r := range recs {
		rr := r.RR()
		n := strings.TrimSuffix(rr.Name, ".")
		lower := strings.ToLower(n)
		switch {
		case lower == zone && n != zone:
			rr.Name = "@"
		case strings.HasSuffix(lower, "."+zone) && !strings.HasSuffix(n, "."+zone):
			rr.Name = n[:len(n)-len(zone)-1]
		default:
			continue
		}
		recs[i] = rr
	}
	return recs
}
