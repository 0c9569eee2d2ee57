package safefile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// special makes a special file in dir: a FIFO, or a twin of /dev/null or
// /dev/zero (same device numbers) made with mknod, which needs root.
func special(t *testing.T, dir, kind string) string {
	t.Helper()
	path := filepath.Join(dir, kind)
	var err error
	switch kind {
	case "fifo":
		err = syscall.Mkfifo(path, 0o644)
	case "null":
		err = syscall.Mknod(path, syscall.S_IFCHR|0o666, int(mkdev(1, 3)))
	case "zero":
		err = syscall.Mknod(path, syscall.S_IFCHR|0o666, int(mkdev(1, 5)))
	default:
		t.Fatalf("unknown special file %q", kind)
	}
	if errors.Is(err, syscall.EPERM) && os.Getenv("CI") != "true" {
		t.Skipf("mknod %s needs root: %v", kind, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func mkdev(major, minor uint32) uint64 {
	return uint64(major)<<8 | uint64(minor)
}

// entries lists a directory, to prove no temporary file stayed behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func noTemp(t *testing.T, dir string) {
	t.Helper()
	for _, name := range entries(t, dir) {
		if strings.HasSuffix(name, ".tmp") {
			t.Errorf("temporary file %s left behind in %s", name, dir)
		}
	}
}

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name string
		// setup makes what is at the path; it returns the path to write.
		setup func(t *testing.T, dir string) string
		// wantErr is part of the error; "" means success.
		wantErr string
		// check runs after the write.
		check func(t *testing.T, dir, path string)
	}{{
		name:  "new file",
		setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "new.txt") },
		check: func(t *testing.T, dir, path string) {
			wantFile(t, path, "new content", 0o640)
		},
	}, {
		name: "regular file keeps its mode",
		setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "f.txt")
			writeMode(t, p, "old", 0o604)
			return p
		},
		check: func(t *testing.T, dir, path string) { wantFile(t, path, "new content", 0o604) },
	}, {
		name: "symlink: the target is replaced and the link stays",
		setup: func(t *testing.T, dir string) string {
			real := filepath.Join(dir, "sub", "real.txt")
			if err := os.Mkdir(filepath.Dir(real), 0o755); err != nil {
				t.Fatal(err)
			}
			writeMode(t, real, "old", 0o600)
			link := filepath.Join(dir, "link.txt")
			if err := os.Symlink("sub/real.txt", link); err != nil {
				t.Fatal(err)
			}
			return link
		},
		check: func(t *testing.T, dir, path string) {
			fi, err := os.Lstat(path)
			if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Fatalf("%s is no longer a symlink: %v %v", path, fi.Mode(), err)
			}
			wantFile(t, filepath.Join(dir, "sub", "real.txt"), "new content", 0o600)
			noTemp(t, filepath.Join(dir, "sub"))
		},
	}, {
		name:    "/dev/null twin",
		setup:   func(t *testing.T, dir string) string { return special(t, dir, "null") },
		wantErr: "it is a character device, not a regular file",
		check:   wantDevice,
	}, {
		name: "symlink to a /dev/null twin",
		setup: func(t *testing.T, dir string) string {
			special(t, dir, "null")
			link := filepath.Join(dir, "policy.txt")
			if err := os.Symlink("null", link); err != nil {
				t.Fatal(err)
			}
			return link
		},
		wantErr: "it is a character device",
		check:   func(t *testing.T, dir, path string) { wantDevice(t, dir, filepath.Join(dir, "null")) },
	}, {
		name:    "FIFO",
		setup:   func(t *testing.T, dir string) string { return special(t, dir, "fifo") },
		wantErr: "it is a named pipe (FIFO), not a regular file",
		check: func(t *testing.T, dir, path string) {
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
				t.Errorf("the FIFO was replaced: %v %v", fi.Mode(), err)
			}
		},
	}, {
		name: "directory",
		setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "d")
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return p
		},
		wantErr: "it is a directory, not a regular file",
	}, {
		name: "dangling symlink",
		setup: func(t *testing.T, dir string) string {
			link := filepath.Join(dir, "link")
			if err := os.Symlink("nowhere/file", link); err != nil {
				t.Fatal(err)
			}
			return link
		},
		wantErr: "it is a symlink to nowhere/file, which cannot be followed",
		check: func(t *testing.T, dir, path string) {
			if _, err := os.Stat(filepath.Join(dir, "nowhere")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the symlink's target directory was created: %v", err)
			}
		},
	}, {
		name:    "missing directory",
		setup:   func(t *testing.T, dir string) string { return filepath.Join(dir, "nodir", "f") },
		wantErr: "create a temporary file beside it",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(t, dir)
			err := WriteFile(path, []byte("new content"), 0o640)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("WriteFile: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("WriteFile succeeded, want error %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			case err != nil && !strings.Contains(err.Error(), path):
				t.Errorf("error %q does not name the file %s", err, path)
			}
			if tt.check != nil {
				tt.check(t, dir, path)
			}
			noTemp(t, dir)
		})
	}
}

func writeMode(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func wantFile(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != content {
		t.Errorf("%s holds %q, want %q", path, b, content)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != mode {
		t.Errorf("%s has mode %v, want a regular file with %v", path, fi.Mode(), mode)
	}
}

func wantDevice(t *testing.T, dir, path string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&fs.ModeCharDevice == 0 || st.Rdev != mkdev(1, 3) {
		t.Errorf("%s is no longer the null device: mode %v rdev %d", path, fi.Mode(), st.Rdev)
	}
}

// TestWriteFileKeepsOwner: a root:bind 0640 zone file must stay readable
// by named, so owner and group survive the replace.
func TestWriteFileKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true: this test needs root to give a file another owner")
		}
		t.Skip("needs root to give a file another owner")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "example.com.zone")
	writeMode(t, path, "old", 0o640)
	if err := os.Chown(path, 12345, 12346); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new content"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantFile(t, path, "new content", 0o640)
	fi, _ := os.Stat(path)
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 12345 || st.Gid != 12346 {
		t.Errorf("owner is %d:%d, want 12345:12346", st.Uid, st.Gid)
	}
}

// TestWriteFileOwnerNotKept: a user who cannot give the new file the old
// file's owner gets an error and an unchanged file, not a silent change
// of owner.
func TestWriteFileOwnerNotKept(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a file owned by another user and drop privileges")
	}
	// t.TempDir's parent is closed to other users.
	dir, err := os.MkdirTemp("", "safefile-owner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "f")
	writeMode(t, path, "old", 0o644)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 12345, 12346); err != nil {
		t.Fatal(err)
	}
	out, err := child(t, "write", path, 54321)
	if err == nil || !strings.Contains(out, "cannot keep its owner and group 12345:12346") {
		t.Fatalf("writing as another user: %v\n%s", err, out)
	}
	wantFile(t, path, "old", 0o644)
	noTemp(t, dir)
}

// TestWriteFileDiskFull: a write that runs out of space (here the file
// size limit, RLIMIT_FSIZE, in a child process) leaves the old file and
// no temporary file.
func TestWriteFileDiskFull(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	writeMode(t, path, "old", 0o644)
	out, err := child(t, "fsize", path, -1)
	if err == nil {
		t.Fatalf("the write over the size limit succeeded:\n%s", out)
	}
	if !strings.Contains(out, "file too large") || !strings.Contains(out, path) || !strings.Contains(out, "the file is unchanged") {
		t.Errorf("error does not say what happened to which file:\n%s", out)
	}
	wantFile(t, path, "old", 0o644)
	noTemp(t, dir)
}

// child runs this test binary again as a helper process doing op on path,
// as user uid when uid >= 0.
func child(t *testing.T, op, path string, uid int) (string, error) {
	t.Helper()
	bin := os.Args[0]
	if uid >= 0 {
		bin = publicCopy(t, bin)
	}
	cmd := exec.Command(bin, "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "SAFEFILE_HELPER="+op, "SAFEFILE_PATH="+path)
	if uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// publicCopy copies the test binary where another user can run it.
func publicCopy(t *testing.T, bin string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "safefile-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "safefile.test")
	if err := os.WriteFile(out, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHelperProcess is the helper process of child; it does nothing in a
// normal test run.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv("SAFEFILE_PATH")
	var err error
	switch os.Getenv("SAFEFILE_HELPER") {
	case "":
		return
	case "fsize":
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 4096, Max: 4096}); err != nil {
			fmt.Println("setrlimit:", err)
			os.Exit(3)
		}
		err = WriteFile(path, bytes.Repeat([]byte("x"), 64*KiB), 0o644)
	case "write":
		err = WriteFile(path, []byte("new content"), 0o644)
	case "readlocked":
		var b []byte
		b, err = ReadLocked(context.Background(), path, EditOptions{Limit: KiB})
		fmt.Print(string(b))
	}
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestWriteFileRenameFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	writeMode(t, path, "old", 0o644)
	w := writer{rename: func(string, string) error { return syscall.EXDEV }}
	err := w.writeFile(path, []byte("new"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "write "+path+": replace it") {
		t.Fatalf("error = %v", err)
	}
	wantFile(t, path, "old", 0o644)
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("directory holds %v, want only f", got)
	}
}

func TestReadFile(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string
		limit   int64
		want    string
		wantErr string
	}{{
		name: "regular",
		setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "f")
			writeMode(t, p, "hello", 0o600)
			return p
		},
		limit: 5, want: "hello",
	}, {
		name: "symlink to a regular file",
		setup: func(t *testing.T, dir string) string {
			writeMode(t, filepath.Join(dir, "f"), "hello", 0o600)
			l := filepath.Join(dir, "l")
			if err := os.Symlink("f", l); err != nil {
				t.Fatal(err)
			}
			return l
		},
		limit: 64 * KiB, want: "hello",
	}, {
		name: "over the limit",
		setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "big")
			writeMode(t, p, strings.Repeat("x", 64*KiB+1), 0o600)
			return p
		},
		limit: 64 * KiB, wantErr: "is larger than the limit of 64 KiB",
	}, {
		name:  "/dev/zero twin",
		setup: func(t *testing.T, dir string) string { return special(t, dir, "zero") },
		limit: MiB, wantErr: "it is a character device, not a regular file",
	}, {
		name:  "FIFO",
		setup: func(t *testing.T, dir string) string { return special(t, dir, "fifo") },
		limit: MiB, wantErr: "it is a named pipe (FIFO), not a regular file",
	}, {
		name: "symlink to a FIFO",
		setup: func(t *testing.T, dir string) string {
			special(t, dir, "fifo")
			l := filepath.Join(dir, "l")
			if err := os.Symlink("fifo", l); err != nil {
				t.Fatal(err)
			}
			return l
		},
		limit: MiB, wantErr: "it is a named pipe (FIFO)",
	}, {
		name:  "directory",
		setup: func(t *testing.T, dir string) string { return dir },
		limit: MiB, wantErr: "it is a directory",
	}, {
		name:  "missing",
		setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "none") },
		limit: MiB, wantErr: "no such file or directory",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t, t.TempDir())
			done := make(chan struct{})
			var got []byte
			var err error
			go func() {
				defer close(done)
				got, err = ReadFile(path, tt.limit)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("ReadFile(%s) hangs", path)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error = %v, want one naming %s and saying %q", err, path, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("ReadFile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestEditRedoesAfterAnotherWriter: a program that replaced the file
// between our read and our rename keeps its edit: Commit sees the change
// and redoes ours on top of it.
func TestEditRedoesAfterAnotherWriter(t *testing.T) {
	for _, how := range []string{"atomic", "in place, same size"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			writeMode(t, path, "a\n", 0o644)
			ctx := context.Background()
			e, err := Open(ctx, path, EditOptions{Limit: KiB})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			// The other program does not honour the lock.
			other := "b\n"
			if how == "atomic" {
				other = "a\nb\n"
				writeMode(t, path+".new", other, 0o644)
				if err := os.Rename(path+".new", path); err != nil {
					t.Fatal(err)
				}
			} else {
				f, err := os.OpenFile(path, os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteAt([]byte(other), 0); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
			ours := func(cur []byte) ([]byte, error) { return append(bytes.Clone(cur), "ours\n"...), nil }
			data, _ := ours(e.Data())
			var seen []string
			err = e.Commit(ctx, data, func(cur []byte) ([]byte, error) {
				seen = append(seen, string(cur))
				return ours(cur)
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != 1 || seen[0] != other {
				t.Errorf("redo saw %q, want one call with %q", seen, other)
			}
			wantFile(t, path, other+"ours\n", 0o644)
			noTemp(t, dir)
		})
	}
}

// TestEditWaitsForLock: the lock is exclusive between open files (and so
// between processes); a held lock makes Open wait until ctx ends.
func TestEditWaitsForLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	writeMode(t, path, "a\n", 0o644)
	held, err := os.OpenFile(path+LockSuffix, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = Open(ctx, path, EditOptions{Limit: KiB})
	if err == nil || !strings.Contains(err.Error(), "waiting for the lock "+path+".lock") {
		t.Fatalf("Open with the lock held elsewhere: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- Edit(context.Background(), path, EditOptions{Limit: KiB}, func(cur []byte) ([]byte, error) {
			return append(bytes.Clone(cur), "b\n"...), nil
		})
	}()
	time.Sleep(100 * time.Millisecond)
	if b, _ := os.ReadFile(path); string(b) != "a\n" {
		t.Fatalf("the file changed while another holder had the lock: %q", b)
	}
	_ = syscall.Flock(int(held.Fd()), syscall.LOCK_UN)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantFile(t, path, "a\nb\n", 0o644)
}

// TestEditWaitsForCompleteData: a file another program is still writing
// in place (no newline at the end yet) is read again until it is whole.
func TestEditWaitsForCompleteData(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("line one\nline t"); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		_, _ = f.WriteString("wo\n")
	}()
	opts := EditOptions{Limit: KiB, Complete: func(b []byte) bool { return bytes.HasSuffix(b, []byte("\n")) }}
	err = Edit(context.Background(), path, opts, func(cur []byte) ([]byte, error) {
		return append(bytes.Clone(cur), "ours\n"...), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "line one\nline two\nours\n" {
		t.Errorf("file holds %q", b)
	}
}

func TestOpenLockFile(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	writeMode(t, victim, "precious", 0o644)
	link := filepath.Join(dir, "link.lock")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLockFile(link, true); err == nil || !strings.Contains(err.Error(), "it is a symlink") {
		t.Errorf("lock through a symlink: %v", err)
	}
	hard := filepath.Join(dir, "hard.lock")
	if err := os.Link(victim, hard); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLockFile(hard, true); err == nil || !strings.Contains(err.Error(), "hard links") {
		t.Errorf("lock written through a hard link: %v", err)
	}
	fifo := special(t, dir, "fifo")
	if _, err := OpenLockFile(fifo, false); err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("lock on a FIFO: %v", err)
	}
	f, err := OpenLockFile(filepath.Join(dir, "new.lock"), true)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	wantFile(t, victim, "precious", 0o644)
}

// TestReadLockedWaitsForWriter: a reader never sees the file halfway
// through a write made under the lock, even one made in place.
func TestReadLockedWaitsForWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	writeMode(t, path, "old\n", 0o644)
	held, err := os.OpenFile(path+LockSuffix, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("line one\n"), 0o644); err != nil { // the first half
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		b, err := ReadLocked(context.Background(), path, EditOptions{Limit: KiB})
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b)
	}()
	select {
	case g := <-got:
		t.Fatalf("ReadLocked returned %q while a writer held the lock", g)
	case <-time.After(150 * time.Millisecond):
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("line two\n")
	f.Close()
	_ = syscall.Flock(int(held.Fd()), syscall.LOCK_UN)
	if g := <-got; g != "line one\nline two\n" {
		t.Errorf("ReadLocked = %q", g)
	}
}

// TestReadLockedReadOnlyDirectory: a user who may read the file but not
// create its lock file still reads it (plan as a read-only user).
func TestReadLockedReadOnlyDirectory(t *testing.T) {
	dir, err := os.MkdirTemp("", "safefile-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "g")
	writeMode(t, path, "x\n", 0o644)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if b, err := ReadLocked(context.Background(), path, EditOptions{Limit: KiB}); err != nil || string(b) != "x\n" {
			t.Errorf("ReadLocked in a read-only directory = %q, %v", b, err)
		}
		return
	}
	// root may write anywhere: read as another user.
	if out, err := child(t, "readlocked", path, 54321); err != nil || out != "x\n" {
		t.Errorf("ReadLocked in a read-only directory = %q, %v", out, err)
	}
}

// TestWriteRefusesOthersSymlinks: a symlink someone else owns (planted in
// a shared or sticky directory) never redirects a write, directly or
// further down a chain of links; one of our own is followed.
func TestWriteRefusesOthersSymlinks(t *testing.T) {
	// As root the foreign links are chowned to nobody; otherwise the
	// writer is told it runs as another user, which makes our links foreign.
	w := defaultWriter
	foreign := func(t *testing.T, link string) {
		t.Helper()
		if os.Geteuid() != 0 {
			return
		}
		if err := os.Lchown(link, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() != 0 {
		w.euid = os.Geteuid() + 1
	}
	tests := []struct {
		name string
		// make lays out dir and returns the path written and the file it
		// must leave alone.
		make    func(t *testing.T, dir string) (path, victim string)
		refused bool
	}{
		{"foreign link", func(t *testing.T, dir string) (string, string) {
			victim := filepath.Join(dir, "victim")
			writeMode(t, victim, "secret", 0o600)
			link := filepath.Join(dir, "policy.txt")
			if err := os.Symlink(victim, link); err != nil {
				t.Fatal(err)
			}
			foreign(t, link)
			return link, victim
		}, true},
		{"foreign link behind our own", func(t *testing.T, dir string) (string, string) {
			victim := filepath.Join(dir, "victim")
			writeMode(t, victim, "secret", 0o600)
			mid := filepath.Join(dir, "mid")
			if err := os.Symlink("victim", mid); err != nil {
				t.Fatal(err)
			}
			foreign(t, mid)
			link := filepath.Join(dir, "policy.txt")
			if err := os.Symlink(mid, link); err != nil {
				t.Fatal(err)
			}
			if os.Geteuid() != 0 && os.Getenv("CI") != "true" {
				t.Skip("giving two links different owners needs root")
			}
			return link, victim
		}, true},
	}
	tests = append(tests, struct {
		name    string
		make    func(t *testing.T, dir string) (path, victim string)
		refused bool
	}{"foreign directory link on the way", func(t *testing.T, dir string) (string, string) {
		real := filepath.Join(dir, "real")
		if err := os.Mkdir(real, 0o755); err != nil {
			t.Fatal(err)
		}
		victim := filepath.Join(real, "policy.txt")
		writeMode(t, victim, "secret", 0o600)
		link := filepath.Join(dir, "www")
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		foreign(t, link)
		return filepath.Join(link, "policy.txt"), victim
	}, true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path, victim := tt.make(t, dir)
			err := w.writeFile(path, []byte("mode: enforce\n"), 0o644)
			if err == nil || !strings.Contains(err.Error(), "refusing to write") || !strings.Contains(err.Error(), "symlink") {
				t.Fatalf("write error = %v, want a refusal naming the symlink", err)
			}
			wantFile(t, victim, "secret", 0o600)
			if _, err := w.open(context.Background(), path, EditOptions{Limit: KiB}); err == nil || !strings.Contains(err.Error(), "refusing to") {
				t.Fatalf("edit error = %v, want a refusal", err)
			}
			wantFile(t, victim, "secret", 0o600)
			// A read under the lock would make the lock file beside the
			// link's target.
			if _, err := w.readLocked(context.Background(), path, EditOptions{Limit: KiB}); err == nil || !strings.Contains(err.Error(), "refusing to lock") {
				t.Fatalf("locked read error = %v, want a refusal", err)
			}
			if _, err := os.Lstat(victim + LockSuffix); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a lock file was made beside the link's target: %v", err)
			}
		})
	}
	t.Run("own link followed", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "real")
		writeMode(t, target, "old", 0o640)
		link := filepath.Join(dir, "policy.txt")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(link, []byte("new"), 0o644); err != nil {
			t.Fatal(err)
		}
		wantFile(t, target, "new", 0o640)
	})
}
