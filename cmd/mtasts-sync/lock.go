package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
)

// lock takes an exclusive flock on path, waiting up to wait for another
// run to finish. The lock goes with the process, so a killed run never
// leaves a stale lock behind.
func lock(ctx context.Context, path string, wait time.Duration) (unlock func(), err error) {
	f, err := safefile.OpenLockFile(path, true)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock file %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			holder := readPID(f)
			f.Close()
			return nil, fmt.Errorf("another mtasts-sync run holds %s%s: it ends by itself; use --lock-wait to wait for it", path, holder)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func readPID(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid := strings.TrimSpace(string(b[:n]))
	if pid == "" {
		return ""
	}
	return " (pid " + pid + ")"
}
