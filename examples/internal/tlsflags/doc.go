// Package tlsflags holds the examples' TLS flags and certificate helpers:
//
//	-tls-cert FILE -tls-key FILE  serve wss:// (and https://) with this PEM key pair
//	-tls-self-signed              serve wss:// with an in-memory ECDSA P-256
//	                              certificate for localhost, 127.0.0.1 and ::1
//	-tls-addr ADDR                serve TLS on ADDR and plain ws:// on -addr;
//	                              without it, -addr is TLS only
//
// A key pair read from files is re-read by Reload (the examples call it on
// SIGHUP) and served through tls.Config.GetCertificate, so a renewed
// certificate applies to the next handshake without a restart.
//
// A self-signed certificate is trusted by no client. The examples print its
// SHA-256 SPKI pin, which Chromium accepts with
// --ignore-certificate-errors-spki-list=PIN; the line they print runs it
// with a fresh --user-data-dir, keeping the exception out of a daily
// profile.
package tlsflags
