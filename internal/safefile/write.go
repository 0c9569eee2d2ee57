package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// WriteFile replaces the file at path with data, atomically. path may be
// a regular file, a symlink to one (its target is replaced and the symlink
// stays) or nothing yet (a new file with mode perm is made); anything else
// is refused before anything is written. An existing file keeps its mode,
// owner and group; when the owner or group cannot be kept (not running as
// root or as the owner), nothing is written and the error says so.
//
// A symlink is followed only when it belongs to root or to the user
// running mtasts-sync: whoever owns a symlink can point it at any file,
// and a write through it would replace that file with our content (the
// kernel's protected_symlinks rule guards opens in /tmp the same way, but
// not the readlink and rename a safe write is made of).
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return defaultWriter.writeFile(path, data, perm)
}

// writer holds the steps tests replace to make a write fail at a chosen
// point; the zero value is not usable, defaultWriter is the real one.
type writer struct {
	rename func(oldpath, newpath string) error
	// euid is the user whose symlinks, besides root's, are followed.
	euid int
}

var defaultWriter = writer{rename: os.Rename, euid: os.Geteuid()}

func (w writer) writeFile(path string, data []byte, perm fs.FileMode) error {
	target, fi, err := w.resolveForWrite(path)
	if err != nil {
		return err
	}
	return w.replace(target, data, keepFrom(fi, perm), nil)
}

// resolveForWrite returns the regular file a write to path replaces: path
// itself or, for a symlink, its final target, with that file's info (nil
// when there is no file yet). Every symlink on the way must belong to
// root or to w.euid.
func (w writer) resolveForWrite(path string) (target string, fi fs.FileInfo, err error) {
	if err := w.trustedDirs(path, "write"); err != nil {
		return "", nil, err
	}
	fi, err = os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return path, nil, nil
	case err != nil:
		return "", nil, fmt.Errorf("write %s: %w", path, unwrapPath(err))
	case fi.Mode()&fs.ModeSymlink != 0:
		if err := w.trustedLinks(path, fi, "write"); err != nil {
			return "", nil, err
		}
		target, err = filepath.EvalSymlinks(path)
		if err != nil {
			dest, _ := os.Readlink(path)
			return "", nil, fmt.Errorf("refusing to write %s: it is a symlink to %s, which cannot be followed (%v): point it at an existing regular file or remove it", path, dest, unwrapPath(err))
		}
		if fi, err = os.Lstat(target); err != nil {
			return "", nil, fmt.Errorf("write %s (symlink to %s): %w", path, target, unwrapPath(err))
		}
		if !fi.Mode().IsRegular() {
			return "", nil, notRegular(path+" (symlink to "+target+")", "write", fi.Mode())
		}
		return target, fi, nil
	case !fi.Mode().IsRegular():
		return "", nil, notRegular(path, "write", fi.Mode())
	}
	return path, fi, nil
}

// CheckLink refuses path when it is a symlink (or starts a chain of
// them) owned by a user other than root or the user running mtasts-sync,
// as WriteFile does for the file it writes. Callers that make directories
// on the way to a file they write check each directory they own the
// layout of: a directory symlink another user planted would carry the
// write anywhere. Anything that is not a symlink passes.
func CheckLink(path string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return nil
	}
	return defaultWriter.trustedLinks(path, fi, "write")
}

// trustedDirs applies the symlink owner rule to the directories on the
// way to path: /var/www/.well-known made a symlink by the web server's
// user would carry a root write anywhere just as a symlink at the file
// itself would.
func (w writer) trustedDirs(path, verb string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil // the write reports it
	}
	dir := filepath.Dir(abs)
	var dirs []string
	for d := dir; ; d = filepath.Dir(d) {
		dirs = append(dirs, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		fi, err := os.Lstat(dirs[i])
		if err != nil {
			return nil // the write reports it
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if err := w.trustedLinks(dirs[i], fi, verb+" through"); err != nil {
				return fmt.Errorf("%s %s: %w", verb, path, err)
			}
		}
	}
	return nil
}

// maxLinks bounds the symlink chain trustedLinks walks, as the kernel's
// own limit does (ELOOP).
const maxLinks = 40

// trustedLinks walks the chain of symlinks starting at path (fi is its
// Lstat) and refuses it if any link belongs to someone other than root or
// w.euid; verb says what was to be done through it ("write").
func (w writer) trustedLinks(path string, fi fs.FileInfo, verb string) error {
	link := path
	for range maxLinks {
		if fi.Mode()&fs.ModeSymlink == 0 {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != w.euid {
			via := ""
			if link != path {
				via = " (through " + link + ")"
			}
			return fmt.Errorf("refusing to %s %s: it is a symlink%s owned by uid %d, neither root nor the user running mtasts-sync, and its owner could point it at any file; have root own it (chown -h root %s) or replace it with the file itself", verb, path, via, st.Uid, link)
		}
		dest, err := os.Readlink(link)
		if err != nil {
			return nil // EvalSymlinks reports it
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(link), dest)
		}
		link = dest
		if fi, err = os.Lstat(link); err != nil {
			return nil // EvalSymlinks reports it
		}
	}
	return nil // EvalSymlinks reports the loop
}

// attrs are what a replaced file keeps.
type attrs struct {
	mode     fs.FileMode
	uid, gid int // -1: whatever the new file gets
}

func keepFrom(fi fs.FileInfo, perm fs.FileMode) attrs {
	if fi == nil {
		return attrs{mode: perm.Perm(), uid: -1, gid: -1}
	}
	a := attrs{mode: fi.Mode().Perm(), uid: -1, gid: -1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		a.uid, a.gid = int(st.Uid), int(st.Gid)
	}
	return a
}

// replace writes data to a temporary file beside target and renames it
// over target. check, when set, runs right before the rename; its error
// stops the write. The temporary file is removed on every error.
func (w writer) replace(target string, data []byte, a attrs, check func() error) (err error) {
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: create a temporary file beside it: %w (is the directory writable?)", target, unwrapPath(err))
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = f.Close()
			}
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w (the file is unchanged)", target, unwrapPath(err))
	}
	if err = keepOwner(f, target, a); err != nil {
		return err
	}
	if err = f.Chmod(a.mode); err != nil {
		return fmt.Errorf("write %s: keep its mode %v: %w (the file is unchanged)", target, a.mode, unwrapPath(err))
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w (the file is unchanged)", target, unwrapPath(err))
	}
	closed = true
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w (the file is unchanged)", target, unwrapPath(err))
	}
	if check != nil {
		if err = check(); err != nil {
			return err
		}
	}
	if err = w.rename(tmp, target); err != nil {
		return fmt.Errorf("write %s: replace it: %w (the file is unchanged)", target, unwrapPath(err))
	}
	// Syncing the directory makes the rename itself durable. Some file
	// systems cannot sync a directory; the new file is in place either way.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// keepOwner gives the temporary file the owner and group of the file it
// replaces, where they differ from what it got.
func keepOwner(f *os.File, target string, a attrs) error {
	if a.uid < 0 && a.gid < 0 {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("write %s: %w", target, unwrapPath(err))
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || (int(st.Uid) == a.uid && int(st.Gid) == a.gid) {
		return nil
	}
	if err := f.Chown(a.uid, a.gid); err != nil {
		return fmt.Errorf("write %s: cannot keep its owner and group %d:%d: %w; run as root or as the file's owner (the file is unchanged)", target, a.uid, a.gid, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the path from a file system error: the messages here
// name the file the user knows, not the temporary one.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
