// Package tlsrec is the TLS 1.3 record layer (RFC 8446 §5) switchboard
// runs on its event loops once crypto/tls has completed a handshake: it
// protects and opens application records, and handles the post-handshake
// messages a server can receive (KeyUpdate, §4.6.3) and alerts (§6).
//
// It is glue around standard primitives only: HKDF-Expand-Label (§7.1)
// over crypto/hkdf, AES-GCM from crypto/aes and crypto/cipher, and
// ChaCha20-Poly1305 from golang.org/x/crypto. No handshake, key exchange
// or cipher is implemented here; the traffic secrets come from crypto/tls.
//
// State is split by lifetime. A Conn holds what a connection needs while
// idle: per direction the traffic secret, the sequence number and a key
// generation (about 130 bytes). A Cipher holds the expanded AEAD and IV,
// built from a Conn's secret on demand; callers keep Ciphers in a small
// bounded cache shared by many connections and drop them when idle.
// Methods of Conn take the Cipher to use and refresh it when it belongs
// to an older key generation.
//
// Nothing here is safe for concurrent use; a connection's state is touched
// by one goroutine at a time (its event loop).
package tlsrec
