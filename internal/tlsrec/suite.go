package tlsrec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"errors"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// suite describes a TLS 1.3 cipher suite (RFC 8446 §B.4).
type suite struct {
	id      uint16
	keyLen  int
	hashLen int
	hash    func() hash.Hash
	aead    func(key []byte) (cipher.AEAD, error)
}

func newAESGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

var suites = [...]suite{
	{tls.TLS_AES_128_GCM_SHA256, 16, 32, sha256.New, newAESGCM},
	{tls.TLS_AES_256_GCM_SHA384, 32, 48, sha512.New384, newAESGCM},
	{tls.TLS_CHACHA20_POLY1305_SHA256, 32, 32, sha256.New, chacha20poly1305.New},
}

func suiteByID(id uint16) *suite {
	for i := range suites {
		if suites[i].id == id {
			return &suites[i]
		}
	}
	return nil
}

// Supported reports whether id is a TLS 1.3 cipher suite this package
// handles (all three of RFC 8446 §B.4 that crypto/tls offers).
func Supported(id uint16) bool { return suiteByID(id) != nil }

// ErrUnknownSuite is returned for a cipher suite Supported reports false for.
var ErrUnknownSuite = errors.New("tlsrec: unsupported cipher suite")

// ExpandLabel is HKDF-Expand-Label of RFC 8446 §7.1 for cipher suite id:
// HKDF-Expand(secret, HkdfLabel, length) where HkdfLabel is the length,
// "tls13 "+label and context, each length-prefixed.
func ExpandLabel(id uint16, secret []byte, label string, context []byte, length int) ([]byte, error) {
	s := suiteByID(id)
	if s == nil {
		return nil, ErrUnknownSuite
	}
	return expandLabel(s, secret, label, context, length)
}

func expandLabel(s *suite, secret []byte, label string, context []byte, length int) ([]byte, error) {
	const prefix = "tls13 "
	if len(prefix)+len(label) > 255 || len(context) > 255 || length > 0xffff {
		return nil, errors.New("tlsrec: HKDF label too long")
	}
	var info [2 + 1 + 255 + 1 + 255]byte
	b := info[:0]
	b = append(b, byte(length>>8), byte(length), byte(len(prefix)+len(label)))
	b = append(b, prefix...)
	b = append(b, label...)
	b = append(b, byte(len(context)))
	b = append(b, context...)
	return hkdf.Expand(s.hash, secret, string(b), length)
}
