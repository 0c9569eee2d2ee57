package providers_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/cloudflarefake"
	"github.com/mtasts-sync/mtasts-sync/providers"
)

// TestCloudflareListsEveryZonePage: zone discovery reads every page of
// GET /zones (the pinned client reads only the first), here 120 zones in
// three pages of 50, plus the lone answer of a small account.
func TestCloudflareListsEveryZonePage(t *testing.T) {
	for _, n := range []int{1, 50, 51, 120} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			fake := cloudflarefake.New("tok", fakeapi.Options{})
			t.Cleanup(fake.Close)
			var want []string
			for i := range n {
				z := fmt.Sprintf("zone%03d.example", i)
				fake.AddZone(z)
				want = append(want, z)
			}
			slices.Sort(want)
			p, err := providers.Build(t.Context(), "cf", "cloudflare", map[string]string{"api_token": "tok"}, providers.Options{Transport: fake.Transport()})
			if err != nil {
				t.Fatal(err)
			}
			fake.Middleware().ResetCounts()
			got, ok, err := p.ListZones(t.Context())
			if err != nil || !ok {
				t.Fatalf("ListZones: %v, %v", ok, err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("ListZones got %d zones, want %d:\n%v", len(got), len(want), got)
			}
			if pages, reqs := (len(want)+49)/50, fake.Middleware().Total(); reqs != pages {
				t.Errorf("%d requests for %d zones, want one per page of 50 (%d)", reqs, len(want), pages)
			}
		})
	}
}

// TestCloudflareZoneListError: an error answer on a later page fails the
// listing with the API's message instead of returning part of the zones.
func TestCloudflareZoneListError(t *testing.T) {
	fake := cloudflarefake.New("tok", fakeapi.Options{})
	t.Cleanup(fake.Close)
	for i := range 60 {
		fake.AddZone(fmt.Sprintf("zone%03d.example", i))
	}
	fake.Middleware().AddFault(fakeapi.Fault{
		Match:  func(r *http.Request) bool { return r.URL.Query().Get("page") == "2" },
		Status: http.StatusBadRequest,
		Body:   `{"success":false,"errors":[{"code":1004,"message":"page out of range"}],"messages":[],"result":null}`,
	})
	p, err := providers.Build(t.Context(), "cf", "cloudflare", map[string]string{"api_token": "tok"}, providers.Options{Transport: fake.Transport()})
	if err != nil {
		t.Fatal(err)
	}
	zones, _, err := p.ListZones(t.Context())
	if err == nil || zones != nil || !strings.Contains(err.Error(), "GET /zones page 2: HTTP 400: 1004 page out of range") {
		t.Fatalf("ListZones with a failing page 2 = %v, %v; want the page's error", zones, err)
	}
}
