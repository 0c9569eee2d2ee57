package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/providers"
)

// TestSummaryLogsDailyBudget: -v says how much of a daily request budget
// (deSEC's 2,000 a day) the run used, and says nothing of one elsewhere.
func TestSummaryLogsDailyBudget(t *testing.T) {
	var buf bytes.Buffer
	s := Summary{API: map[string]providers.Stats{
		"desec": {Requests: map[string]int{"read": 37, "write": 13}, DailyBudget: 2000},
		"cf":    {Requests: map[string]int{"read": 12}},
	}}
	s.Log(slog.New(slog.NewTextHandler(&buf, nil)))
	var desec, cf string
	for _, l := range strings.Split(buf.String(), "\n") {
		switch {
		case strings.Contains(l, "provider=desec"):
			desec = l
		case strings.Contains(l, "provider=cf"):
			cf = l
		}
	}
	if !strings.Contains(desec, `daily_budget="50 of 2000 requests/day (2.5%)"`) {
		t.Errorf("deSEC line lacks the budget used:\n%s", buf.String())
	}
	if cf == "" || strings.Contains(cf, "daily_budget") {
		t.Errorf("Cloudflare line missing or with a daily budget:\n%s", buf.String())
	}
}
