package zonefile

// Tests of zone files shared with other programs: a real second process
// (this test binary run again, see TestHelperProcess) edits the zone while
// the provider writes it.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libdns/libdns"
)

// helper starts this test binary as a second process doing job on the
// zone file at path. Its stdout lines are sent on the returned channel,
// which is closed when it exits; wait returns its error.
func helper(t *testing.T, job, path string, args ...string) (lines <-chan string, wait func() error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "ZONEFILE_HELPER="+job, "ZONEFILE_PATH="+path, "ZONEFILE_ARGS="+strings.Join(args, " "))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return ch, func() error {
		<-done
		return cmd.Wait()
	}
}

// TestHelperProcess is the second process; it does nothing in a normal
// test run. It works on the file with plain system calls, not with this
// package, as another program would.
func TestHelperProcess(t *testing.T) {
	job, path := os.Getenv("ZONEFILE_HELPER"), os.Getenv("ZONEFILE_PATH")
	if job == "" {
		return
	}
	args := strings.Fields(os.Getenv("ZONEFILE_ARGS"))
	var err error
	switch job {
	case "atomic-edits":
		n, _ := strconv.Atoi(args[0])
		err = atomicEdits(path, n)
	case "slow-write":
		err = slowWrite(path, args[0] == "locked", args[1])
	default:
		err = fmt.Errorf("unknown job %q", job)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// flock takes the documented lock of the zone file at path, the way
// `flock <zone>.lock -c ...` does.
func flock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path+".lock", os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// atomicEdits adds n records to the zone, one edit each: under the lock,
// read, append a line, write a new file and rename it over the zone.
func atomicEdits(path string, n int) error {
	for i := range n {
		unlock, err := flock(path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil {
			data = fmt.Appendf(data, "other-%d 300 IN TXT \"edit %d\"\n", i, i)
			err = os.WriteFile(path+".other", data, 0o644)
		}
		if err == nil {
			err = os.Rename(path+".other", path)
		}
		unlock()
		if err != nil {
			return err
		}
		fmt.Println("edit", i)
		time.Sleep(time.Millisecond)
	}
	return nil
}

// slowWrite rewrites the zone in place, as `cat new > zone` does, in two
// parts with a pause between them. It says "half" after the first part.
// The new zone is the old one plus a record named name. With locked, it
// holds the lock and its first part ends at a line end (it would parse);
// without, the first part ends mid-line.
func slowWrite(path string, locked bool, name string) error {
	if locked {
		unlock, err := flock(path)
		if err != nil {
			return err
		}
		defer unlock()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	data = fmt.Appendf(data, "%s 300 IN TXT \"written slowly\"\n", name)
	cut := len(data) - 10
	if locked {
		cut = len(data) - len(fmt.Sprintf("%s 300 IN TXT \"written slowly\"\n", name))
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(data[:cut]); err != nil {
		return err
	}
	fmt.Println("half")
	time.Sleep(500 * time.Millisecond)
	_, err = f.Write(data[cut:])
	return err
}

// TestSecondProcessEditsSurvive: a program that edits the zone under the
// documented lock, atomically, while we write it loses none of its edits,
// and we lose none of ours.
func TestSecondProcessEditsSurvive(t *testing.T) {
	p, path := newSmall(t)
	const theirs, ours = 60, 60
	lines, wait := helper(t, "atomic-edits", path, strconv.Itoa(theirs))
	<-lines // it has started editing
	ctx := context.Background()
	for i := range ours {
		_, err := p.SetRecords(ctx, "example.com", []libdns.Record{libdns.TXT{Name: fmt.Sprintf("ours-%d", i), TTL: time.Minute, Text: "ours"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range lines {
	}
	if err := wait(); err != nil {
		t.Fatalf("second process: %v", err)
	}
	recs, err := p.GetRecords(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range recs {
		have[r.RR().Name] = true
	}
	var lost []string
	for i := range theirs {
		if n := fmt.Sprintf("other-%d", i); !have[n] {
			lost = append(lost, n)
		}
	}
	for i := range ours {
		if n := fmt.Sprintf("ours-%d", i); !have[n] {
			lost = append(lost, n)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d records lost: %v", len(lost), theirs+ours, lost)
	}
}

// TestHalfWrittenFileNotMadePermanent: a program rewriting the zone in
// place, slowly, with or without the lock: our write neither makes its
// half-written file permanent nor throws away its second half.
func TestHalfWrittenFileNotMadePermanent(t *testing.T) {
	for _, mode := range []string{"locked", "unlocked"} {
		t.Run(mode, func(t *testing.T) {
			p, path := newSmall(t)
			lines, wait := helper(t, "slow-write", path, mode, "slow")
			if l := <-lines; l != "half" {
				t.Fatalf("second process said %q", l)
			}
			_, err := p.SetRecords(context.Background(), "example.com", []libdns.Record{libdns.TXT{Name: "ours", TTL: time.Minute, Text: "ours"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := wait(); err != nil {
				t.Fatalf("second process: %v", err)
			}
			data, _ := os.ReadFile(path)
			for _, want := range []string{"slow.example.com.\t300\tIN\tTXT\t\"written slowly\"", "ours.example.com.\t60\tIN\tTXT\t\"ours\"", "hello world"} {
				if !strings.Contains(string(data), want) {
					t.Errorf("zone lacks %q:\n%s", want, data)
				}
			}
		})
	}
}

// TestEditCommitRedoesAfterAtomicEdit: another program's atomic edit
// between our read and our write, made without the lock, survives: the
// batch's changes are made again on its file.
func TestEditCommitRedoesAfterAtomicEdit(t *testing.T) {
	p, path := newSmall(t)
	ctx := context.Background()
	e, err := p.Begin(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for i := range 3 {
		if _, err := e.AppendRecords(ctx, "example.com", []libdns.Record{libdns.TXT{Name: "_batch", TTL: time.Minute, Text: fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(path)
	data = append(data, "other 300 IN TXT \"made meanwhile\"\n"...)
	tmp := filepath.Join(filepath.Dir(path), "other.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if err := e.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	serial, lines := splitSOA(t, fileRecords(t, path))
	for _, want := range []string{`other.example.com.	300	IN	TXT	"made meanwhile"`, `_batch.example.com.	60	IN	TXT	"0"`, `_batch.example.com.	60	IN	TXT	"2"`} {
		if !lines[want] {
			t.Errorf("zone lacks %s", want)
		}
	}
	if serial != 2 {
		t.Errorf("serial = %d, want 2: one step for the batch", serial)
	}
}

// TestBatchWritesOnce: a batch of 300 record changes writes the file once
// and moves the serial one step (300 writes used to move a date serial
// three days ahead).
func TestBatchWritesOnce(t *testing.T) {
	dir := t.TempDir()
	path := writeZone(t, dir, "example.com.zone", strings.Replace(smallZone, "hostmaster.example.com. 1 ", "hostmaster.example.com. 2026031400 ", 1))
	p := New(dir)
	p.now = func() time.Time { return fixedNow }
	ctx := context.Background()
	before, _ := os.Stat(path)
	e, err := p.Begin(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for i := range 300 {
		if _, err := e.SetRecords(ctx, "example.com", []libdns.Record{libdns.TXT{Name: fmt.Sprintf("_r%d", i), Text: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	// A change that fails leaves the batch as it was.
	if _, err := e.AppendRecords(ctx, "example.com", []libdns.Record{libdns.CNAME{Name: "@", Target: "x.example.net."}}); err == nil {
		t.Fatal("CNAME at the apex beside the SOA accepted")
	}
	if mid, _ := os.Stat(path); !os.SameFile(before, mid) {
		t.Fatal("the zone file was written before Commit")
	}
	if err := e.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	serial, lines := splitSOA(t, fileRecords(t, path))
	if serial != 2026031401 {
		t.Errorf("serial = %d, want 2026031401 (one step)", serial)
	}
	if len(lines) != 9+300 {
		t.Errorf("%d records, want %d", len(lines), 9+300)
	}
	if err := e.Commit(ctx); err == nil {
		t.Error("a second Commit of one edit succeeded")
	}
}

// TestGetRecordsWaitsForLockedWriter: a program rewriting the zone in
// place under the lock is never read halfway.
func TestGetRecordsWaitsForLockedWriter(t *testing.T) {
	p, path := newSmall(t)
	lines, wait := helper(t, "slow-write", path, "locked", "slow")
	if l := <-lines; l != "half" {
		t.Fatalf("second process said %q", l)
	}
	recs, err := p.GetRecords(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("second process: %v", err)
	}
	found := false
	for _, r := range recs {
		found = found || r.RR().Name == "slow"
	}
	if !found {
		t.Errorf("GetRecords read the zone halfway through the other program's write: %d records, no \"slow\"", len(recs))
	}
}

// TestZoneFileKeepsOwnerAndMode: a root:bind 0640 zone must stay readable
// by named after a write (it became root:root).
func TestZoneFileKeepsOwnerAndMode(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true: this test needs root to give a file another owner")
		}
		t.Skip("needs root to give a file another owner")
	}
	p, path := newSmall(t)
	if err := os.Chown(path, 12345, 12346); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetRecords(context.Background(), "example.com", []libdns.Record{libdns.TXT{Name: "_x", Text: "y"}}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 12345 || st.Gid != 12346 || fi.Mode().Perm() != 0o640 {
		t.Errorf("zone file is %d:%d %v after a write, want 12345:12346 0640", st.Uid, st.Gid, fi.Mode().Perm())
	}
}
