package engine

import (
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/mtasts-sync/mtasts-sync/providers"
)

// Summary is what one run did, for logs, JSON and monitoring.
type Summary struct {
	Zones int `json:"zones"`
	// ZonesByDNS were confirmed in sync by DNS without any API call.
	ZonesByDNS int `json:"zones_confirmed_by_dns"`
	Domains    int `json:"domains"`
	// API is each provider account's use, by provider name.
	API  map[string]providers.Stats `json:"api"`
	Wall time.Duration              `json:"wall_ns"`
}

// Summary counts the run's zones and domains and the API use so far.
func (e *Engine) Summary(run *Run, wall time.Duration) Summary {
	s := Summary{API: e.Stats(), Wall: wall}
	if run != nil {
		for _, z := range run.Plan.Zones {
			s.Zones++
			s.Domains += len(z.Domains)
			if z.ConfirmedByDNS {
				s.ZonesByDNS++
			}
		}
	}
	return s
}

// Log writes the summary as one line per provider and one for the run.
func (s Summary) Log(log *slog.Logger) {
	names := make([]string, 0, len(s.API))
	for n := range s.API {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		st := s.API[n]
		attrs := []any{"provider", n, "requests", st.Total(), "retries", st.Retries, "throttled", st.Throttled, "waited", st.Waited.Round(time.Millisecond)}
		for _, k := range st.Kinds() {
			attrs = append(attrs, k, st.Requests[k])
		}
		if st.DailyBudget > 0 {
			attrs = append(attrs, "daily_budget", fmt.Sprintf("%d of %d requests/day (%.1f%%)", st.Total(), st.DailyBudget, st.BudgetUsed()))
		}
		log.Info("api use", attrs...)
	}
	log.Info("run done", "zones", s.Zones, "zones_confirmed_by_dns", s.ZonesByDNS, "domains", s.Domains, "wall", s.Wall.Round(time.Millisecond))
}
