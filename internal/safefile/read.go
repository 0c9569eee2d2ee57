// Package safefile reads and writes the files mtasts-sync is pointed at
// without harming whatever is really at those paths.
//
// Reading (ReadFile) takes regular files only, symlinks followed, up to a
// size limit: a FIFO never blocks the reader, a device (/dev/zero) is never
// read, and a huge file is an error naming the file and the limit, not an
// out-of-memory crash.
//
// Writing (WriteFile, and Open for an edit under lock) replaces a regular
// file, or the regular file a symlink points to (the symlink stays), and
// nothing else: a device, FIFO, socket or directory at the path is refused
// before anything is written. The new content goes to a temporary file in
// the same directory, takes the old file's mode, owner and group, is synced,
// and is renamed over the old file, whose directory is synced too. Readers
// and crashes see the old file or the new one, never half of one, and no
// temporary file is left behind after any error.
//
// An edit (Open, Editor.Commit) also takes the advisory lock <file>.lock
// (flock(2), exclusive) beside the real file, so cooperating programs
// never interleave their edits, and checks right before the rename that the
// file is still the one it read; if another program changed it, the edit is
// made again on the new content. ReadLocked reads under the same lock,
// shared, so a cooperating writer is never seen halfway.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Size limits for the files mtasts-sync reads.
const (
	KiB = 1 << 10
	MiB = 1 << 20
)

// ReadFile returns the content of the regular file at path (a symlink is
// followed). It refuses anything else, and a file larger than limit bytes,
// with an error that names the file, the problem and the limit. It never
// blocks on a FIFO and never reads from a device.
func ReadFile(path string, limit int64) ([]byte, error) {
	data, _, err := readRegular(path, limit)
	return data, err
}

// readRegular reads path as ReadFile does and also returns the identity
// of the file it read.
func readRegular(path string, limit int64) ([]byte, identity, error) {
	// Look before opening: opening some devices has effects of its own.
	fi, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Op = "open"
		}
		return nil, identity{}, err
	}
	if err := regularForRead(path, fi, limit); err != nil {
		return nil, identity{}, err
	}
	// O_NONBLOCK: the path may have become a FIFO since the Stat, and
	// opening a FIFO for reading would wait for a writer forever.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, identity{}, err
	}
	defer f.Close()
	fi, err = f.Stat()
	if err != nil {
		return nil, identity{}, err
	}
	if err := regularForRead(path, fi, limit); err != nil {
		return nil, identity{}, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, identity{}, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(data)) > limit {
		return nil, identity{}, tooBig(path, limit)
	}
	return data, identityOf(fi), nil
}

func regularForRead(path string, fi fs.FileInfo, limit int64) error {
	if !fi.Mode().IsRegular() {
		return notRegular(path, "read", fi.Mode())
	}
	if fi.Size() > limit {
		return tooBig(path, limit)
	}
	return nil
}

// ErrTooLarge is wrapped by the error ReadFile returns for a file above
// its limit.
var ErrTooLarge = errors.New("too large")

// ErrNotRegular is wrapped by the error for a path that holds something
// other than a regular file (or a symlink to one).
var ErrNotRegular = errors.New("not a regular file")

// The errors are *fs.PathError, so callers that name the file themselves
// can take the reason alone.
func tooBig(path string, limit int64) error {
	return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: it is larger than the limit of %s; is this the right file?", ErrTooLarge, Size(limit))}
}

func notRegular(path, op string, m fs.FileMode) error {
	what := "give the path of a regular file"
	if op == "write" {
		what = "mtasts-sync replaces only regular files (or the regular file a symlink points to): give the path of one"
	}
	return &fs.PathError{Op: op, Path: path, Err: fmt.Errorf("it is %s, %w; %s", Kind(m), ErrNotRegular, what)}
}

// Size formats a byte count the way the limits are written: 64 KiB, 1 MiB.
func Size(n int64) string {
	switch {
	case n >= MiB && n%MiB == 0:
		return fmt.Sprintf("%d MiB", n/MiB)
	case n >= KiB && n%KiB == 0:
		return fmt.Sprintf("%d KiB", n/KiB)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Kind names the kind of file a mode describes, with its article.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeDir != 0:
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "an irregular file"
}
