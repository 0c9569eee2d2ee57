package safefile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// LockSuffix is appended to a file's real path (symlinks resolved) to name
// the lock file an edit holds: /var/lib/bind/example.com.zone is edited
// under /var/lib/bind/example.com.zone.lock. A cooperating script takes
// the same lock with flock(1): flock example.com.zone.lock -c '...'.
const LockSuffix = ".lock"

// EditOptions say how Open reads the file.
type EditOptions struct {
	// Limit caps the file's size in bytes.
	Limit int64
	// Complete, when set, reports whether data looks whole (a zone file
	// ends with a newline). Data that does not is read again until it
	// does, for up to Settle, then taken as it is: another program may be
	// writing it in place without the lock.
	Complete func(data []byte) bool
	// Settle bounds the wait for incomplete data; default 2 seconds.
	Settle time.Duration
}

// Editor is one file opened for an edit: its content as read, under the
// file's lock until Close.
type Editor struct {
	path   string // as given
	target string // the regular file replaced
	opts   EditOptions
	lock   *os.File
	data   []byte
	id     identity
	attrs  attrs
	w      writer
}

// maxRedo bounds how often Commit redoes an edit because another program
// changed the file meanwhile.
const maxRedo = 10

// Open takes the lock of the file at path (a regular file or a symlink
// to one, which must exist), waiting for it as long as ctx allows, and
// reads the file. Close the Editor to release the lock.
func Open(ctx context.Context, path string, opts EditOptions) (*Editor, error) {
	return defaultWriter.open(ctx, path, opts)
}

func (w writer) open(ctx context.Context, path string, opts EditOptions) (*Editor, error) {
	target, fi, err := w.resolveForWrite(path)
	if err != nil {
		return nil, err
	}
	if fi == nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	lock, err := takeLock(ctx, target+LockSuffix, syscall.LOCK_EX)
	if err != nil {
		return nil, err
	}
	e := &Editor{path: path, target: target, opts: opts, lock: lock, w: w}
	if err := e.read(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// read (re)reads the file, waiting while it looks half-written.
func (e *Editor) read(ctx context.Context) error {
	_, err := settle(ctx, e.path, e.opts, func() ([]byte, error) {
		target, fi, err := e.w.resolveForWrite(e.path)
		if err != nil {
			return nil, err
		}
		if fi == nil {
			return nil, &fs.PathError{Op: "open", Path: e.path, Err: fs.ErrNotExist}
		}
		if target != e.target {
			return nil, fmt.Errorf("edit %s: it now points to %s instead of %s; run again", e.path, target, e.target)
		}
		data, id, err := readRegular(target, e.opts.Limit)
		if err != nil {
			return nil, err
		}
		e.data, e.id, e.attrs = data, id, keepFrom(fi, 0)
		return data, nil
	})
	return err
}

// settle calls read until opts.Complete accepts its data or opts.Settle
// has passed, then returns the last data.
func settle(ctx context.Context, path string, opts EditOptions, read func() ([]byte, error)) ([]byte, error) {
	if opts.Settle <= 0 {
		opts.Settle = 2 * time.Second
	}
	deadline := time.Now().Add(opts.Settle)
	for {
		data, err := read()
		if err != nil || opts.Complete == nil || opts.Complete(data) || time.Now().After(deadline) {
			return data, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read %s: waiting for another program to finish writing it: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ReadLocked reads the file at path as ReadFile does, holding a shared
// lock on its lock file (see LockSuffix) so that no cooperating writer is
// halfway through it, and waiting, as Open does, for data opts.Complete
// accepts. Where the lock file cannot be made (a directory this user may
// not write), it reads without the lock. A symlink at path is followed
// only when WriteFile would follow it.
func ReadLocked(ctx context.Context, path string, opts EditOptions) ([]byte, error) {
	return defaultWriter.readLocked(ctx, path, opts)
}

func (w writer) readLocked(ctx context.Context, path string, opts EditOptions) ([]byte, error) {
	// The lock file goes beside the symlink's target: another user's
	// symlink must not make us create one wherever it points.
	if err := w.trustedDirs(path, "lock"); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if err := w.trustedLinks(path, fi, "lock"); err != nil {
			return nil, err
		}
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return ReadFile(path, opts.Limit) // for its error
	}
	lock, err := takeLock(ctx, target+LockSuffix, syscall.LOCK_SH)
	switch {
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS):
	case err != nil:
		return nil, err
	default:
		defer releaseLock(lock)
	}
	return settle(ctx, path, opts, func() ([]byte, error) { return ReadFile(target, opts.Limit) })
}

// Data is the file's content as read.
func (e *Editor) Data() []byte { return e.data }

// Path is the regular file the edit replaces (the symlink's target).
func (e *Editor) Path() string { return e.target }

// ErrChanging is wrapped by Commit's error when the file kept changing
// under the edit.
var ErrChanging = errors.New("the file keeps changing while mtasts-sync edits it")

// Commit replaces the file with data. Right before the rename it checks
// that the file is still the one read (same inode, size, times and
// content); if another program changed it meanwhile, Commit reads it again
// and writes redo(new content) instead. redo returning nil data means the
// edit has nothing left to do. The lock stays held; call Close.
func (e *Editor) Commit(ctx context.Context, data []byte, redo func(current []byte) ([]byte, error)) error {
	for range maxRedo {
		if data == nil {
			return nil
		}
		stale := false
		err := e.w.replace(e.target, data, e.attrs, func() error {
			var err error
			stale, err = e.changed()
			if err == nil && stale {
				err = errStale
			}
			return err
		})
		if !stale {
			return err
		}
		if err := e.read(ctx); err != nil {
			return err
		}
		if data, err = redo(e.data); err != nil {
			return err
		}
	}
	return fmt.Errorf("edit %s: %w: another program writes it without taking the lock %s", e.target, ErrChanging, e.target+LockSuffix)
}

var errStale = errors.New("changed since read")

// changed reports whether the file at the target path is no longer the
// one read: another inode (an atomic edit), or new size, times or content
// (an edit in place).
func (e *Editor) changed() (bool, error) {
	fi, err := os.Stat(e.target)
	if errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("edit %s: it was removed while mtasts-sync edited it; nothing written", e.target)
	}
	if err != nil {
		return false, err
	}
	if identityOf(fi) != e.id {
		return true, nil
	}
	data, id, err := readRegular(e.target, e.opts.Limit)
	if err != nil {
		return false, err
	}
	return id != e.id || !bytes.Equal(data, e.data), nil
}

// Close releases the lock. It is safe to call more than once.
func (e *Editor) Close() {
	if e.lock != nil {
		releaseLock(e.lock)
		e.lock = nil
	}
}

// Edit runs edit on the content of the file at path under its lock and
// writes the result as Commit does; edit returning nil data leaves the
// file alone. On a conflicting change by another program, edit runs again
// on the new content.
func Edit(ctx context.Context, path string, opts EditOptions, edit func(current []byte) ([]byte, error)) error {
	e, err := Open(ctx, path, opts)
	if err != nil {
		return err
	}
	defer e.Close()
	data, err := edit(e.Data())
	if err != nil {
		return err
	}
	return e.Commit(ctx, data, edit)
}

// takeLock opens (creating it if needed) the lock file and takes a flock
// of kind how (LOCK_EX or LOCK_SH) on it, polling so that ctx can end the
// wait.
func takeLock(ctx context.Context, path string, how int) (*os.File, error) {
	f, err := OpenLockFile(path, false)
	if err != nil {
		return nil, err
	}
	wait := 2 * time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock file %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the lock %s, held by another program editing the file: %w", path, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

func releaseLock(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	_ = f.Close()
}

// OpenLockFile opens the lock file at path for flock(2), creating it
// (mode 0644) if needed; write opens it read-write, for a holder that
// writes its pid into it. It never opens through a symlink (one planted in
// a shared directory must not make us create or truncate a file
// elsewhere), and refuses a FIFO, device or directory without blocking.
// Opened for writing, it also refuses a file with more than one name (a
// hard link to a file elsewhere).
func OpenLockFile(path string, write bool) (*os.File, error) {
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o644)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("lock file %s: it is a symlink; remove it (a lock file is never opened through a symlink)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("lock file %s: %w (the directory must be writable)", path, unwrapPath(err))
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = notRegular(path, "lock", fi.Mode())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); err == nil && write && ok && st.Nlink > 1 {
		// The holder truncates the file and writes its pid: through a hard
		// link planted in a shared directory, that would empty another file.
		err = fmt.Errorf("lock file %s: it has %d names (hard links), so writing to it would change another file; remove it", path, st.Nlink)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// identity tells one version of a file from another without reading it.
type identity struct {
	dev, ino     uint64
	size         int64
	mtime, ctime syscall.Timespec
}

func identityOf(fi fs.FileInfo) identity {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return identity{size: fi.Size()}
	}
	return identity{dev: uint64(st.Dev), ino: st.Ino, size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
}
