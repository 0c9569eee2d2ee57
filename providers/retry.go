package providers

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// retryTransport is the one retry layer we add, for clients that have none
// of their own (Cloudflare's). A 429 was not processed, so any request is
// sent again after Retry-After; a 5xx or a broken connection is retried
// only for requests that change nothing or are safe to repeat (GET, PATCH
// of a whole record). A failed create is never repeated blindly: the zone
// is read again first (see Zone.WriteRRset).
type retryTransport struct {
	m        *meter // told of retries and throttling; nil: nobody
	base     http.RoundTripper
	attempts int           // default 4
	backoff  time.Duration // first wait without Retry-After; default 1 s
	maxWait  time.Duration // cap on any one wait; default 60 s
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	attempts, backoff, maxWait := t.attempts, t.backoff, t.maxWait
	if attempts == 0 {
		attempts = 4
	}
	if backoff == 0 {
		backoff = time.Second
	}
	if maxWait == 0 {
		maxWait = time.Minute
	}
	for i := 1; ; i++ {
		r := req
		if i > 1 {
			var err error
			if r, err = rewind(req); err != nil {
				return nil, err
			}
		}
		sent := time.Now()
		resp, err := t.base.RoundTrip(r)
		wait, retry := shouldRetry(req, resp, err, backoff)
		wait = min(wait, maxWait)
		if !retry || i == attempts || req.Context().Err() != nil || pastDeadline(req.Context(), wait) {
			// The last answer says more than a deadline error would.
			return resp, err
		}
		throttled := resp != nil && resp.StatusCode == http.StatusTooManyRequests
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if t.m != nil {
			t.m.retried()
			if throttled {
				// The meter holds every request of the account back, this
				// one included.
				t.m.throttled(sent, wait)
				wait = 0
			}
		}
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		backoff *= 2
	}
}

func shouldRetry(req *http.Request, resp *http.Response, err error, backoff time.Duration) (time.Duration, bool) {
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			return d, true
		}
		return backoff, true
	}
	repeatable := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodPatch
	if !repeatable {
		return 0, false
	}
	if err != nil {
		// A certificate that does not verify will not verify next time.
		var certErr *tls.CertificateVerificationError
		return backoff, req.Context().Err() == nil && !errors.As(err, &certErr)
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if d, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			return d, true
		}
		return backoff, true
	}
	return 0, false
}

// pastDeadline reports whether waiting d would outlast ctx.
func pastDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < d
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	if req.GetBody == nil {
		return nil, errNoRewind
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r.Body = body
	return r, nil
}

var errNoRewind = errors.New("request body cannot be sent again")

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
