module github.com/siirto/siirto

go 1.26.0

require (
	github.com/BurntSushi/toml v1.5.0
	github.com/neicnordic/crypt4gh v1.15.0
	github.com/studio-b12/gowebdav v0.13.0
	github.com/urfave/cli/v2 v2.27.7
	golang.org/x/crypto v0.48.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
	golang.org/x/text v0.43.0
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/cpuguy83/go-md2man/v2 v2.0.7 // indirect
	github.com/dchest/bcrypt_pbkdf v0.0.0-20150205184540-83f37f9c154a // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
	github.com/xrash/smetrics v0.0.0-20240521201337-686a1a2994c1 // indirect
)
