package reconcile

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestAcknowledge(t *testing.T) {
	plan := Plan{Zones: []ZonePlan{
		{Zone: "example.net", Domains: []string{"example.net", "shop.example.net"}, Changes: []Change{
			{Domain: "example.net", Name: "mta-sts.example.net.", Type: "A", Action: Conflict, Reason: "in the way"},
			{Domain: "example.net", Name: "_mta-sts.example.net.", Type: "TXT", Action: Withheld, Reason: "mta-sts.example.net is not ours yet"},
			{Domain: "shop.example.net", Name: "mta-sts.shop.example.net.", Type: "AAAA", Action: Conflict, Reason: "in the way"},
			{Domain: "shop.example.net", Name: "_smtp._tls.shop.example.net.", Type: "TXT", Action: Create},
		}},
		{Zone: "broken.example", Domains: []string{"broken.example"}, Err: errors.New("read failed")},
	}}
	acks := []Ack{
		{Name: "mta-sts.example.net", Type: "A", Reason: "legacy web server"},
		{Name: "mta-sts.shop.example.net", Reason: "any type"},
		{Name: "mta-sts.example.net", Type: "AAAA", Reason: "stale: no AAAA there"},
		{Name: "mta-sts.broken.example", Reason: "zone not read: cannot tell"},
		{Name: "mta-sts.elsewhere.example", Reason: "not in this run"},
	}
	before := plan.Summary()
	got, unused := Acknowledge(plan, acks)

	wantActions := []Action{Acknowledged, Withheld, Acknowledged, Create}
	for i, c := range got.Zones[0].Changes {
		if c.Action != wantActions[i] {
			t.Errorf("change %d (%s %s): action %s, want %s", i, c.Name, c.Type, c.Action, wantActions[i])
		}
	}
	if r := got.Zones[0].Changes[0].Reason; r != "in the way; acknowledged: legacy web server" {
		t.Errorf("reason = %q", r)
	}
	if diff := cmp.Diff([]Ack{acks[2]}, unused); diff != "" {
		t.Errorf("unused (-want +got):\n%s", diff)
	}
	sum := got.Summary()
	if sum.Conflict != 0 || sum.Acknowledged != 2 || sum.Withheld != 1 || sum.Create != 1 {
		t.Errorf("summary %+v: want 0 conflicts, 2 acknowledged, 1 withheld, 1 create", sum)
	}
	if plan.Summary() != before || plan.Zones[0].Changes[0].Action != Conflict {
		t.Error("Acknowledge modified the plan it was given")
	}
	if got.Pending() != plan.Pending() {
		t.Error("Acknowledge changed what apply writes")
	}
	if same, none := Acknowledge(plan, nil); none != nil || !cmp.Equal(same, plan, cmpopts.EquateErrors()) {
		t.Error("no acks must leave the plan as it is")
	}
}
