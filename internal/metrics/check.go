package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
)

var verdicts = []check.Verdict{check.Pass, check.Warn, check.Fail}

// Check returns the registry of one check run over reports, made at now:
// per domain and check a one-hot verdict, the days left on the policy
// host's certificate, and when the check ran.
func Check(reports []check.Report, now time.Time) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	verdict := gauge(reg, "check_verdict",
		"1 for the verdict a check gave (pass, warn or fail), 0 for the others.", "domain", "check", "verdict")
	worst := gauge(reg, "check_domain_verdict",
		"1 for the worst verdict of a domain's checks, 0 for the others.", "domain", "verdict")
	// Days, as asked for at a glance (a deliberate exception to the base
	// unit rule), next to the timestamp alerts should prefer: it does not
	// go stale between runs.
	expiry := gauge(reg, "policy_certificate_expiry_days",
		"Days until the certificate of a domain's policy host (mta-sts.<domain>) expires, as of the check; absent when the policy could not be fetched.", "domain")
	expiryAt := gauge(reg, "policy_certificate_expiry_timestamp_seconds",
		"When the certificate of a domain's policy host (mta-sts.<domain>) expires, as a Unix time; absent when the policy could not be fetched.", "domain")
	ran := gauge(reg, "check_timestamp_seconds", "When the check ran, as a Unix time.")
	for _, r := range reports {
		for _, res := range r.Results {
			for _, v := range verdicts {
				verdict.WithLabelValues(r.Domain, res.Check, string(v)).Set(oneIf(res.Verdict == v))
			}
		}
		for _, v := range verdicts {
			worst.WithLabelValues(r.Domain, string(v)).Set(oneIf(r.Worst() == v))
		}
		if !r.PolicyCertExpiry.IsZero() {
			expiry.WithLabelValues(r.Domain).Set(r.PolicyCertExpiry.Sub(now).Hours() / 24)
			expiryAt.WithLabelValues(r.Domain).Set(unix(r.PolicyCertExpiry))
		}
	}
	ran.WithLabelValues().Set(unix(now))
	return reg
}

func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
