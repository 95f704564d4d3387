// Package dav is the gateway's WebDAV endpoint, shaped like Nextcloud's so
// that siirto's own client (clients.WebDAV, with its chunked, resumable
// uploads) and any WebDAV client work against it unchanged. The caller
// mounts a Server under its mux; TLS, listening and other endpoints are
// not this package's business.
//
// # URL layout
//
//	/remote.php/dav/files/<user>/                    the user's journal folders (virtual, read-only)
//	/remote.php/dav/files/<user>/<folder>/<path>     Root/<folder>/<path>
//	/remote.php/dav/uploads/<user>/<id>/<n>          a chunk of a Nextcloud chunked upload
//
// # Authentication
//
// Every request carries HTTP Basic credentials, checked with
// Accounts.Authenticate (so that should be quick). A request without any
// gets 401 with WWW-Authenticate: Basic realm="siirto"; that is the
// challenge many clients wait for, so it is not counted as a failure. A
// wrong user or password is: Events.LoginFailed, and after MaxFailures
// within FailWindow from one address (an IPv4 address, or the /64 of an
// IPv6 one) the address gets 429 with Retry-After for BanFor, without
// its password even being checked (Events.Banned, once per ban). A
// successful login does not reset the count, so that one good account
// cannot be used to keep guessing another's password. The address is
// r.RemoteAddr: behind a reverse proxy the caller must set it from the
// proxy's header. At most 100,000 addresses are tracked. User names are
// 1 to 64 of A-Z a-z 0-9 . _ @ - (not starting with a dot); others never
// log in.
//
// The user in the path must be the authenticated one (403 otherwise):
// nobody ever sees another user's tree.
//
// # The top level
//
// /remote.php/dav/files/<user>/ lists, for PROPFIND, the journal folders
// of Accounts.Folders that exist under Root (names that are not journal
// folder names are ignored). Nothing can be created, changed or removed
// there (403, whatever the name): journal folders are made by the
// gateway. A folder that is not the user's is answered as if it did not
// exist (404, or 409 as a Destination); trying one that exists is
// reported with Events.Denied.
//
// # Inside a journal folder
//
// x/net/webdav serves PROPFIND, PROPPATCH, MKCOL, GET, HEAD, OPTIONS,
// COPY, MOVE and DELETE over a file system (davFS) that keeps to the
// rules below; this package serves PUT, LOCK and UNLOCK itself. The
// rules are checked before a request is served, to answer 403 with a
// plain-language reason and report Events.Denied, and again at the
// moment of every change, under a per-folder mutex, so that no race
// gets past them:
//
//   - A closed folder (Folder.Closed) is read-only.
//   - Protected names, written only by the gateway, are read-only:
//     journal_number.txt, receipt-key.pub and every *.receipt.json (case
//     ignored), at the top level of the folder.
//   - A complete bundle is immutable: once NAME.json exists (a regular,
//     non-empty file at the top level), NAME.json and NAME.c4gh cannot be
//     replaced, deleted, moved, or created: PUT, DELETE, MOVE from or
//     onto them, COPY onto them, PROPPATCH and LOCK are refused. Until
//     then a payload may be replaced (a rerun), and the client's upload
//     to a hidden name followed by MOVE with Overwrite: T works. A
//     second bundle of the same name never replaces the first. An empty
//     NAME.json does not count: Windows Explorer and macOS Finder create
//     an empty file before they PUT its content.
//   - The journal folder itself cannot be changed, moved or copied, and
//     a folder cannot be copied or moved into itself.
//   - Path elements with control characters, backslashes, invalid UTF-8,
//     "." or ".." are refused (400). Subfolders are allowed (WebDAV
//     clients make them); the gateway's pipeline looks only at the top
//     level.
//   - Names starting with ".siirto-" are this package's and the
//     gateway's temporary files: never listed, and 404 for any request.
//   - Files are created 0600, folders 0700.
//
// COPY or MOVE must name a Destination in the same user's files tree on
// this server, in a journal folder the user may write to.
//
// # PUT: never a partial file under a final name
//
// A PUT streams its body into a hidden temporary file in the same
// folder. Only when every byte of the Content-Length has arrived (or, with
// chunked transfer encoding, the body ended cleanly) is the file synced
// and renamed onto its name: 201 Created, or 204 No Content when it
// replaced a file, with an ETag. A body cut short is removed and answered
// with 400. If-None-Match: * refuses to replace; Content-Range is
// refused. A COPY's destination is written the same way (temporary name,
// then rename).
//
// # Nextcloud chunked upload v2
//
// MKCOL uploads/<user>/<id> with a Destination starts an upload (405 if
// it exists: the client then resumes); the destination is checked then,
// so a refused upload fails before its first chunk. PUT <id>/<n>
// (n = 1..10000, Content-Length required) stores a chunk as a PUT stores
// a file, so a cut chunk is never kept; every chunk's Destination, if
// given, must be the upload's. PROPFIND <id> lists the chunks and their
// sizes, which is how the client resumes. MOVE <id>/.file with the
// Destination assembles chunks 1..N (no gaps; their total must equal
// OC-Total-Length when given) by streaming them into a hidden temporary
// file in the destination's folder, syncs it, and commits it with the
// same checks as a PUT; the upload folder is then removed. DELETE <id>
// aborts. Uploads live in Uploads/<user>/<id>/; since the assembly
// writes into the destination's folder, Uploads need not be on Root's
// file system. The upload id is one element of A-Z a-z 0-9 . _ -.
//
// # Locks and properties
//
// Locks are this package's (x/net/webdav has no shared locks and
// evaluates neither "Not" nor entity tags in If headers): exclusive and
// shared write locks of depth 0 or infinity, kept in memory, at most
// 10,000 and at most an hour each (clients refresh), shared by all users
// of a journal folder. A LOCK on a path where nothing is creates an
// empty file. Dead properties set with PROPPATCH are kept in memory (at
// most 16 MiB in all) and follow MOVE and COPY: the gateway gives them no
// meaning, but WebDAV clients (and litmus) expect them to work. Locks and
// properties are both lost when the gateway restarts.
//
// The endpoint passes the litmus suites basic, copymove, props, http and
// locks without failures (TestLitmus).
//
// # Events and housekeeping
//
// Events.Stored is called when a non-empty file lands under a final name
// (not hidden) at the top level of a journal folder, by PUT, MOVE, COPY
// or chunk assembly; a manifest's Stored is how the gateway learns at
// once that a bundle is complete. Empty files (placeholders, or made by
// LOCK) are not reported. Events are called synchronously, never under
// a folder's mutex.
//
// New starts no goroutine. The serve loop calls Sweep periodically (say
// hourly): it removes uploads untouched for ChunkExpiry, temporary files
// of PUTs that a crash cut short, and expired bans and locks.
package dav
