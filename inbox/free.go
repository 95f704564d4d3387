package inbox

// FreeSpace is the space an unprivileged process may still use at path
// (on systems that cannot tell, a very large number).
func FreeSpace(path string) (int64, error) { return freeBytes(path) }
