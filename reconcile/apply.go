package reconcile

import (
	"context"
	"errors"
	"fmt"
)

// RRsetWrite asks a zone to make the RRset Name/Type hold Keep plus Want
// where it now holds Keep plus Have. Have or Want may be empty.
type RRsetWrite struct {
	Name, Type string
	Have, Want []Record
	Keep       []Record
}

// Zone is one zone as the reconciler sees it. Providers implement it and
// choose the calls that write an RRset safely on their service; they never
// decide what to change.
type Zone interface {
	Records(ctx context.Context) ([]Record, error)
	WriteRRset(ctx context.Context, w RRsetWrite) error
}

// Batcher is a Zone that can collect a zone's writes and make them in one
// go (a zone file is written once per apply, not once per RRset).
type Batcher interface {
	// Begin returns a Batch whose WriteRRset collects writes, or nil when
	// this zone writes each RRset as it goes.
	Begin(ctx context.Context) (Batch, error)
}

// Batch collects one zone's writes until Commit. Its WriteRRset fails as
// the Zone's would; Commit makes every collected write or none; Close
// ends the batch (without Commit, nothing is written).
type Batch interface {
	Zone
	Commit(ctx context.Context) error
	Close()
}

// Result is what applying one zone's plan did.
type Result struct {
	Zone, Provider string
	Applied        []Change
	// NotApplied are the changes skipped because an earlier write failed
	// or the run was cancelled.
	NotApplied []Change
	Err        error
}

// Apply writes the zone's changes in plan order, then reads the zone back
// once and checks that every write took: some servers (BIND) answer
// success to a CNAME beside other data and write nothing. It stops at the
// first failed write, so a domain's pointer is never written after its
// policy host failed, and stops starting writes when ctx is done. A Zone
// that is a Batcher gets every write in one batch, committed once.
func Apply(ctx context.Context, zp ZonePlan, z Zone) Result {
	res := Result{Zone: zp.Zone, Provider: zp.Provider}
	var errs []error
	w, batch, err := begin(ctx, z, zp)
	if err != nil {
		res.NotApplied = pending(zp.Changes)
		res.Err = fmt.Errorf("zone %s (provider %s): %w", zp.Zone, zp.Provider, err)
		return res
	}
	for i, ch := range zp.Changes {
		if !ch.Applies() {
			continue
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("stopped before %s %s: %w", ch.Name, ch.Type, err))
			res.NotApplied = pending(zp.Changes[i:])
			break
		}
		err := w.WriteRRset(ctx, RRsetWrite{Name: ch.Name, Type: ch.Type, Have: ch.Have, Want: ch.Want, Keep: ch.Keep})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s %s: %w", ch.Action, ch.Name, ch.Type, err))
			res.NotApplied = pending(zp.Changes[i:])
			break
		}
		res.Applied = append(res.Applied, ch)
	}
	if batch != nil {
		// The writes so far are a prefix of the plan, safe to make as a
		// whole even after an interrupt: make them.
		if err := batch.Commit(context.WithoutCancel(ctx)); err != nil {
			errs = append(errs, err)
			res.NotApplied = append(res.Applied, res.NotApplied...)
			res.Applied = nil
		}
		batch.Close()
	}
	// An interrupted run cannot read back; the next run plans from what is there.
	if len(res.Applied) > 0 && ctx.Err() == nil {
		errs = append(errs, verify(ctx, z, res.Applied))
	}
	if err := errors.Join(errs...); err != nil {
		res.Err = fmt.Errorf("zone %s (provider %s): %w", zp.Zone, zp.Provider, err)
	}
	return res
}

// begin starts a batch when z can batch and there is something to write;
// w is where the writes go.
func begin(ctx context.Context, z Zone, zp ZonePlan) (w Zone, b Batch, err error) {
	bz, ok := z.(Batcher)
	if !ok || len(pending(zp.Changes)) == 0 {
		return z, nil, nil
	}
	b, err = bz.Begin(ctx)
	if err != nil || b == nil {
		return z, nil, err
	}
	return b, b, nil
}

func pending(changes []Change) []Change {
	var out []Change
	for _, c := range changes {
		if c.Applies() {
			out = append(out, c)
		}
	}
	return out
}

// verify reads the zone back and checks every applied change.
func verify(ctx context.Context, z Zone, applied []Change) error {
	live, err := z.Records(ctx)
	if err != nil {
		return fmt.Errorf("reading back the written records: %w", err)
	}
	var errs []error
	for _, ch := range applied {
		for _, w := range ch.Want {
			if !contains(live, w) {
				errs = append(errs, fmt.Errorf("%s %s %s was written but the zone does not show it: the server ignored the write (a CNAME cannot sit beside other data at one name)", ch.Name, ch.Type, ShowValue(ch.Type, w.Value)))
			}
		}
		for _, h := range ch.Have {
			if !contains(ch.Want, h) && contains(live, h) {
				errs = append(errs, fmt.Errorf("%s %s %s was removed but the zone still shows it", ch.Name, ch.Type, ShowValue(ch.Type, h.Value)))
			}
		}
	}
	return errors.Join(errs...)
}

// ShowValue renders a record's value for people: a TXT value quoted (its
// spaces and semicolons are part of it), anything else as it is.
func ShowValue(typ, v string) string {
	if typ == "TXT" {
		return fmt.Sprintf("%q", v)
	}
	return v
}
