package zonefile

import (
	"context"
	"fmt"
	"strings"

	"github.com/libdns/libdns"

	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
)

// Edit is one zone opened for a batch of changes: it holds the zone file's
// lock from Begin to Close, its record methods change the zone in memory
// (each all-or-nothing, with the errors the Provider's would give), and
// Commit writes the file once. Close without Commit writes nothing.
// An Edit is not safe for concurrent use.
type Edit struct {
	p            *Provider
	origin, path string
	unlock       func()
	ed           *safefile.Editor
	z            *zoneData
	before       string                                     // fingerprint as read
	changes      []func(*zoneData) ([]libdns.Record, error) // made so far, in order
	committed    bool
}

var (
	_ libdns.RecordGetter   = (*Edit)(nil)
	_ libdns.RecordAppender = (*Edit)(nil)
	_ libdns.RecordSetter   = (*Edit)(nil)
	_ libdns.RecordDeleter  = (*Edit)(nil)
)

// Begin locks the zone's file (waiting as long as ctx allows) and reads it.
func (p *Provider) Begin(ctx context.Context, zone string) (*Edit, error) {
	origin, path, err := p.zonePath(zone)
	if err != nil {
		return nil, err
	}
	unlock, err := p.lock(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		unlock()
		return nil, err
	}
	ed, err := safefile.Open(ctx, path, zoneFileOptions())
	if err != nil {
		unlock()
		return nil, zoneReadError(path, err)
	}
	z, err := zoneFrom(ed.Data(), path, origin)
	if err != nil {
		ed.Close()
		unlock()
		return nil, err
	}
	return &Edit{p: p, origin: origin, path: path, unlock: unlock, ed: ed, z: z, before: z.fingerprint()}, nil
}

// apply makes change on a copy of the zone and keeps the copy only if the
// change succeeds.
func (e *Edit) apply(c change) ([]libdns.Record, error) {
	if e.ed == nil {
		return nil, fmt.Errorf("zone file %s: the edit is closed", e.path)
	}
	next := e.z.clone()
	result, err := c(next)
	if err != nil {
		return nil, fmt.Errorf("zone %s (%s): %w", strings.TrimSuffix(e.origin, "."), e.path, err)
	}
	e.z = next
	e.changes = append(e.changes, c)
	return result, nil
}

func (e *Edit) checkZone(zone string) error {
	origin, _, err := e.p.zonePath(zone)
	if err != nil {
		return err
	}
	if origin != e.origin {
		return fmt.Errorf("zone %s: this edit is of zone %s", zone, strings.TrimSuffix(e.origin, "."))
	}
	return nil
}

// GetRecords returns the zone's records as the edit has them.
func (e *Edit) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	if err := e.checkZone(zone); err != nil {
		return nil, err
	}
	return e.z.export(e.z.records), nil
}

// AppendRecords is Provider.AppendRecords, in memory until Commit.
func (e *Edit) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return e.inZone(zone, appendChange(recs))
}

// SetRecords is Provider.SetRecords, in memory until Commit.
func (e *Edit) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return e.inZone(zone, setChange(recs))
}

// DeleteRecords is Provider.DeleteRecords, in memory until Commit.
func (e *Edit) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return e.inZone(zone, deleteChange(recs))
}

func (e *Edit) inZone(zone string, c change) ([]libdns.Record, error) {
	if err := e.checkZone(zone); err != nil {
		return nil, err
	}
	return e.apply(c)
}

// Commit writes the zone file once, the SOA serial one step on, if the
// changes changed any record. If another program changed the file since
// Begin, Commit makes the same changes again on its new text; a change
// that no longer fits (say, a CNAME where the other program put data) is
// an error and nothing is written.
func (e *Edit) Commit(ctx context.Context) error {
	if e.ed == nil || e.committed {
		return fmt.Errorf("zone file %s: the edit is closed or committed", e.path)
	}
	if e.z.fingerprint() == e.before {
		e.committed = true
		return nil
	}
	text, err := e.z.renderNext(e.p.clock())
	if err != nil {
		return err
	}
	err = e.ed.Commit(ctx, text, e.redo)
	if err != nil {
		return fmt.Errorf("zone %s: %w", strings.TrimSuffix(e.origin, "."), err)
	}
	e.committed = true
	return nil
}

// redo makes every change of the edit again on the text another program
// left in the file; nil means nothing is left to change.
func (e *Edit) redo(current []byte) ([]byte, error) {
	z, err := zoneFrom(current, e.path, e.origin)
	if err != nil {
		return nil, fmt.Errorf("another program changed the zone file while mtasts-sync edited it, and it no longer reads: %w", err)
	}
	before := z.fingerprint()
	for _, c := range e.changes {
		if _, err := c(z); err != nil {
			return nil, fmt.Errorf("another program changed the zone file while mtasts-sync edited it, and our change no longer fits: %w", err)
		}
	}
	if z.fingerprint() == before {
		return nil, nil
	}
	return z.renderNext(e.p.clock())
}

// Close releases the zone file's lock; without Commit, nothing is written.
// It is safe to call more than once.
func (e *Edit) Close() {
	if e.ed != nil {
		e.ed.Close()
		e.unlock()
		e.ed = nil
	}
}
