module github.com/siirto/siirto

go 1.26.0

require (
	github.com/neicnordic/crypt4gh v1.15.0
	golang.org/x/crypto v0.48.0
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/dchest/bcrypt_pbkdf v0.0.0-20150205184540-83f37f9c154a // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/term v0.47.0 // indirect
)
