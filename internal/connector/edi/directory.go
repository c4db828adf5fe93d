package edi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// directory writes files into a local directory (also a mounted share).
type directory struct{ dir string }

func (d directory) String() string { return d.dir }

func (directory) close() error { return nil }

// put writes in a goroutine so that a hung file system (a stale NFS mount)
// cannot hold the delivery past its deadline. A write that finishes after
// the deadline is harmless: the retry finds the file complete.
func (d directory) put(ctx context.Context, name string, body []byte) error {
	done := make(chan error, 1)
	go func() { done <- d.write(name, body) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// write leaves a file holding body alone; otherwise it writes body to a
// unique name.<random>.tmp, syncs it, renames it into place and syncs the
// directory, so a reader sees no file or the whole file.
func (d directory) write(name string, body []byte) (err error) {
	final := filepath.Join(d.dir, name)
	if same, err := sameLocal(final, body); err != nil || same {
		return err
	}
	tmp := final + "." + suffix() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(body); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, final); err != nil {
		return err
	}
	return syncDir(d.dir)
}

// sameLocal reports whether name exists holding body.
func sameLocal(name string, body []byte) (bool, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	return sameContent(f, body)
}

// sameContent reports whether r holds exactly body, reading at most one
// byte more than body.
func sameContent(r io.Reader, body []byte) (bool, error) {
	got, err := io.ReadAll(io.LimitReader(r, int64(len(body))+1))
	if err != nil {
		return false, fmt.Errorf("read the existing file: %w", err)
	}
	return bytes.Equal(got, body), nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// suffix is a random tag that keeps two writers of one file (two hub
// nodes retrying one delivery) off each other's unfinished file.
func suffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
