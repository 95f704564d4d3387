//go:build unix

package main

import "syscall"

// settle flushes every file system, so that writeback of earlier work
// does not slow the next measurement.
func settle() { syscall.Sync() }
