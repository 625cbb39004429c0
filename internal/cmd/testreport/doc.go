// Command testreport reads `go test -json` on its standard input and writes
// what a plain `go test` (without -v) would write: one line per package,
// the output of the tests that failed, build errors. Then it lists every
// test that skipped, with the reason it gave, so that a run of the whole
// suite says which peers were missing without -v. It exits with status 1
// when a package failed or did not build.
//
//	set -o pipefail; go test -json ./... | go run ./internal/cmd/testreport
package main
