package metrics

import (
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/mtasts-sync/mtasts-sync/providers"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// ApplyRun is what one apply run did.
type ApplyRun struct {
	// Plan is the plan as applied (after the publish gate's last look).
	Plan reconcile.Plan
	// Results are the zones written.
	Results []reconcile.Result
	// Failed says the run ended in an error: a zone, the policy, an
	// interruption. Conflicts alone are not failures here; they have
	// their own metric.
	Failed bool
	// API is each provider account's use.
	API      map[string]providers.Stats
	Duration time.Duration
	Now      time.Time
}

// appliedActions are the actions counted by mtasts_sync_apply_changes.
var appliedActions = []reconcile.Action{reconcile.Create, reconcile.Update, reconcile.Delete}

// Apply returns the registry of one apply run. prev is the metrics file
// as the last run left it (ReadOurs; nil for none): a domain whose zone
// failed this run, or that this run did not cover (--domain), keeps the
// last successful apply time recorded there, and so does the run as a
// whole when it failed.
func Apply(run ApplyRun, prev map[string]*dto.MetricFamily) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	success := gauge(reg, "apply_success", "1 if the last apply run ended without an error (conflicts aside), else 0.")
	lastRun := gauge(reg, "apply_last_run_timestamp_seconds", "When the last apply run ended, as a Unix time.")
	lastOK := gauge(reg, "apply_last_success_timestamp_seconds", "When an apply run last ended without an error, as a Unix time.")
	duration := gauge(reg, "apply_duration_seconds", "How long the last apply run took.")
	domainOK := gauge(reg, "domain_last_success_timestamp_seconds",
		"When apply last read a domain's zone and wrote all it had to, as a Unix time.", "domain")
	changes := gauge(reg, "apply_changes", "Record changes the last apply run wrote, per domain and action.", "domain", "action")
	conflicts := gauge(reg, "conflicts", "Records in the way of a domain's records, left alone (not acknowledged).", "domain")
	acked := gauge(reg, "acknowledged_conflicts", "Conflicts the config's ignore: acknowledges.", "domain")
	withheld := gauge(reg, "withheld", "A domain's changes held back (ids waiting for their policy to be served, pointers for the policy host).", "domain")
	zoneErr := gauge(reg, "zone_error", "1 if a zone could not be read or written in the last apply run.", "zone", "provider")
	requests := gauge(reg, "api_requests", "API requests the last apply run sent, per provider account.", "provider")
	throttled := gauge(reg, "api_throttled", "Throttling answers (429) the last apply run got, per provider account.", "provider")
	budget := gauge(reg, "api_daily_budget_requests", "The requests a day the service allows a provider account (deSEC: 2,000); absent without such a cap.", "provider")

	now := unix(run.Now)
	success.WithLabelValues().Set(oneIf(!run.Failed))
	lastRun.WithLabelValues().Set(now)
	duration.WithLabelValues().Set(run.Duration.Seconds())
	if !run.Failed {
		lastOK.WithLabelValues().Set(now)
	} else if v, ok := previous(prev, "apply_last_success_timestamp_seconds", map[string]string{}); ok {
		lastOK.WithLabelValues().Set(v)
	}

	failedZone := map[[2]string]bool{}
	for _, r := range run.Results {
		if r.Err != nil {
			failedZone[[2]string{r.Zone, r.Provider}] = true
		}
	}
	covered := map[string]bool{}
	for _, z := range run.Plan.Zones {
		key := [2]string{z.Zone, z.Provider}
		bad := z.Err != nil || failedZone[key]
		zoneErr.WithLabelValues(z.Zone, z.Provider).Set(oneIf(bad))
		for _, d := range z.Domains {
			covered[d] = true
			for _, a := range appliedActions {
				changes.WithLabelValues(d, string(a))
			}
			conflicts.WithLabelValues(d)
			acked.WithLabelValues(d)
			withheld.WithLabelValues(d)
			if !bad {
				domainOK.WithLabelValues(d).Set(now)
			} else if v, ok := previous(prev, "domain_last_success_timestamp_seconds", map[string]string{"domain": d}); ok {
				domainOK.WithLabelValues(d).Set(v)
			}
		}
		for _, c := range z.Changes {
			switch c.Action {
			case reconcile.Conflict:
				conflicts.WithLabelValues(c.Domain).Inc()
			case reconcile.Acknowledged:
				acked.WithLabelValues(c.Domain).Inc()
			case reconcile.Withheld:
				withheld.WithLabelValues(c.Domain).Inc()
			}
		}
	}
	for _, r := range run.Results {
		for _, c := range r.Applied {
			changes.WithLabelValues(c.Domain, string(c.Action)).Inc()
		}
	}
	// Domains this run did not cover keep their last success time.
	if mf := prev[prefix+"domain_last_success_timestamp_seconds"]; mf != nil {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "domain" && !covered[lp.GetValue()] && m.GetGauge() != nil {
					domainOK.WithLabelValues(lp.GetValue()).Set(m.GetGauge().GetValue())
				}
			}
		}
	}

	names := make([]string, 0, len(run.API))
	for n := range run.API {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		st := run.API[n]
		requests.WithLabelValues(n).Set(float64(st.Total()))
		throttled.WithLabelValues(n).Set(float64(st.Throttled))
		if st.DailyBudget > 0 {
			budget.WithLabelValues(n).Set(float64(st.DailyBudget))
		}
	}
	return reg
}
