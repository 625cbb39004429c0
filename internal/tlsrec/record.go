package tlsrec

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"math"
)

// Record sizes (RFC 8446 §5.1, §5.2).
const (
	HeaderLen     = 5
	MaxPlaintext  = 1 << 14     // inner plaintext content, per record
	MaxCiphertext = 1<<14 + 256 // TLSCiphertext.length, at most
	MaxRecord     = HeaderLen + MaxCiphertext
	tagLen        = 16 // AES-GCM and ChaCha20-Poly1305
	maxSecret     = 48 // SHA-384
	maxKey        = 32 // AES-256-GCM and ChaCha20-Poly1305
	nonceLen      = 12
	versionTLS12  = 0x0303 // legacy_record_version of protected records
)

// Content types (RFC 8446 §5.1).
const (
	TypeChangeCipherSpec = 20
	TypeAlert            = 21
	TypeHandshake        = 22
	TypeApplicationData  = 23
)

// Direction is one direction of a connection after the handshake: the
// current traffic secret, the key and IV derived from it (RFC 8446 §7.3,
// kept so that a Cipher is built without HKDF), the next record's
// sequence number and the key generation (0 for the secret the handshake
// produced, +1 per KeyUpdate).
type Direction struct {
	secret [maxSecret]byte
	key    [maxKey]byte
	iv     [nonceLen]byte
	seq    uint64
	gen    uint32
	suite  uint16
}

// Init sets d to the traffic secret of suite id, with seq the sequence
// number of the next record (records already protected under it before
// d takes over, e.g. crypto/tls's NewSessionTicket messages).
func (d *Direction) Init(id uint16, secret []byte, seq uint64) error {
	s := suiteByID(id)
	if s == nil {
		return ErrUnknownSuite
	}
	if len(secret) != s.hashLen {
		return fmt.Errorf("tlsrec: traffic secret of %d bytes for a suite with %d-byte hash", len(secret), s.hashLen)
	}
	*d = Direction{suite: id, seq: seq}
	copy(d.secret[:], secret)
	if err := d.deriveKeys(s); err != nil {
		*d = Direction{}
		return err
	}
	return nil
}

// deriveKeys sets the key and IV from the current secret:
// key = HKDF-Expand-Label(secret, "key", "", key_length),
// iv = HKDF-Expand-Label(secret, "iv", "", 12). The previous ones are
// overwritten.
func (d *Direction) deriveKeys(s *suite) error {
	secret := d.secret[:s.hashLen]
	key, err := expandLabel(s, secret, "key", nil, s.keyLen)
	if err != nil {
		return err
	}
	iv, err := expandLabel(s, secret, "iv", nil, nonceLen)
	if err != nil {
		clear(key)
		return err
	}
	clear(d.key[:])
	copy(d.key[:], key)
	copy(d.iv[:], iv)
	clear(key)
	clear(iv)
	return nil
}

// Seq is the sequence number of the next record.
func (d *Direction) Seq() uint64 { return d.seq }

// Generation is the key generation (the number of KeyUpdates applied).
func (d *Direction) Generation() uint32 { return d.gen }

// Suite is the cipher suite.
func (d *Direction) Suite() uint16 { return d.suite }

// Update moves d to the next traffic secret (RFC 8446 §7.2):
// application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N,
// "traffic upd", "", Hash.length), and resets the sequence number.
func (d *Direction) Update() error {
	s := suiteByID(d.suite)
	if s == nil {
		return ErrUnknownSuite
	}
	next, err := expandLabel(s, d.secret[:s.hashLen], "traffic upd", nil, s.hashLen)
	if err != nil {
		return err
	}
	clear(d.secret[:])
	copy(d.secret[:], next)
	clear(next)
	if err := d.deriveKeys(s); err != nil {
		return err
	}
	d.seq = 0
	d.gen++
	return nil
}

// Cipher is the expanded state of one Direction's current key: the AEAD
// (its key schedule). It is built on demand from the Direction's key and
// may be dropped at any time; the zero Cipher is empty.
type Cipher struct {
	aead cipher.AEAD
	dir  *Direction
	gen  uint32
	n    [nonceLen]byte // the current record's nonce (kept here: no allocation)
}

// Reset empties c (releases its AEAD).
func (c *Cipher) Reset() { *c = Cipher{} }

// For makes c the expanded key of d's current generation, building the
// AEAD from d's key when c holds anything else.
func (c *Cipher) For(d *Direction) error {
	if c.aead != nil && c.dir == d && c.gen == d.gen {
		return nil
	}
	c.Reset()
	s := suiteByID(d.suite)
	if s == nil {
		return ErrUnknownSuite
	}
	aead, err := s.aead(d.key[:s.keyLen])
	if err != nil {
		return err
	}
	c.aead, c.dir, c.gen = aead, d, d.gen
	return nil
}

// nonce is the per-record nonce of d's record seq: d's IV XOR the
// sequence number, left-padded to the IV's length (RFC 8446 §5.3).
func (c *Cipher) nonce(d *Direction, seq uint64) []byte {
	c.n = d.iv
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	for i := range s {
		c.n[nonceLen-8+i] ^= s[i]
	}
	return c.n[:]
}

// Seal appends to dst the records protecting content of type typ made of
// a followed by b (either may be empty), at most MaxPlaintext bytes of
// content per record, under d's current key (c is refreshed for d). Each
// record takes the next sequence number. With a and b both empty it
// writes one empty record.
func Seal(d *Direction, c *Cipher, dst []byte, typ byte, a, b []byte) ([]byte, error) {
	if err := c.For(d); err != nil {
		return dst, err
	}
	for first := true; first || len(a)+len(b) > 0; first = false {
		if d.seq == math.MaxUint64 {
			return dst, ErrSequenceExhausted
		}
		n := min(len(a)+len(b), MaxPlaintext)
		start := len(dst)
		dst = grow(dst, HeaderLen+n+1+tagLen)
		hdr := dst[start : start+HeaderLen]
		hdr[0] = TypeApplicationData
		binary.BigEndian.PutUint16(hdr[1:], versionTLS12)
		binary.BigEndian.PutUint16(hdr[3:], uint16(n+1+tagLen))
		p := dst[start+HeaderLen : start+HeaderLen]
		k := min(n, len(a))
		p = append(p, a[:k]...)
		a = a[k:]
		p = append(p, b[:n-k]...)
		b = b[n-k:]
		p = append(p, typ)
		nonce := c.nonce(d, d.seq)
		sealed := c.aead.Seal(p[:0], nonce, p, hdr)
		d.seq++
		dst = dst[:start+HeaderLen+len(sealed)]
	}
	return dst, nil
}

// grow makes room for n more bytes in dst's capacity.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	next := make([]byte, len(dst), max(2*cap(dst), len(dst)+n))
	copy(next, dst)
	return next
}

// RecordLen returns the length of the record at the start of p (header
// included) once its header has arrived, or 0 when fewer than HeaderLen
// bytes are there. It does not check the length against a limit.
func RecordLen(p []byte) int {
	if len(p) < HeaderLen {
		return 0
	}
	return HeaderLen + int(binary.BigEndian.Uint16(p[3:5]))
}

// Open opens one complete protected record rec (header included) under
// d's current key (c is refreshed for d), appends its content to dst and
// returns the inner content type. Errors are Alerts to send to the peer.
func Open(d *Direction, c *Cipher, dst, rec []byte) (byte, []byte, error) {
	if len(rec) < HeaderLen || RecordLen(rec) != len(rec) {
		return 0, dst, AlertDecodeError
	}
	if len(rec)-HeaderLen > MaxCiphertext {
		return 0, dst, AlertRecordOverflow
	}
	if rec[0] != TypeApplicationData {
		// After the handshake every record is protected; a plaintext
		// alert or change_cipher_spec here is out of place (§5).
		return 0, dst, AlertUnexpectedMessage
	}
	if len(rec)-HeaderLen < tagLen+1 {
		return 0, dst, AlertBadRecordMAC
	}
	if err := c.For(d); err != nil {
		return 0, dst, AlertInternalError
	}
	if d.seq == math.MaxUint64 {
		return 0, dst, AlertInternalError
	}
	nonce := c.nonce(d, d.seq)
	start := len(dst)
	out, err := c.aead.Open(dst, nonce, rec[HeaderLen:], rec[:HeaderLen])
	if err != nil {
		return 0, dst, AlertBadRecordMAC
	}
	d.seq++
	// Strip the padding; the last non-zero byte is the content type.
	i := len(out) - 1
	for i >= start && out[i] == 0 {
		i--
	}
	if i < start {
		return 0, out[:start], AlertUnexpectedMessage
	}
	typ := out[i]
	if i-start > MaxPlaintext {
		return 0, out[:start], AlertRecordOverflow
	}
	return typ, out[:i], nil
}

// TrialOpen reports whether rec (one complete record) opens under d's
// current key at d's sequence number, without changing d. It is how a
// caller taking over a connection counts the records crypto/tls already
// protected with the application key (NewSessionTicket messages). c is
// refreshed for d and keeps its expansion.
func TrialOpen(d *Direction, c *Cipher, rec []byte) bool {
	if len(rec) < HeaderLen || RecordLen(rec) != len(rec) || rec[0] != TypeApplicationData ||
		len(rec)-HeaderLen < tagLen+1 || len(rec)-HeaderLen > MaxCiphertext {
		return false
	}
	if c.For(d) != nil {
		return false
	}
	nonce := c.nonce(d, d.seq)
	// Authenticate only: open into a scratch on the stack when the
	// record fits, else into one buffer (a ticket is ~200 bytes).
	var scratch [512]byte
	var dst []byte
	if n := len(rec) - HeaderLen - tagLen; n <= len(scratch) {
		dst = scratch[:0]
	}
	p, err := c.aead.Open(dst, nonce, rec[HeaderLen:], rec[:HeaderLen])
	clear(p)
	return err == nil
}

// Rebind points c, built for a copy of d taken at the same generation
// (a Conn moved after Init), at d. Nothing changes when c was built for
// another generation or suite.
func (c *Cipher) Rebind(d *Direction) {
	if c.aead != nil && c.gen == d.gen && c.dir != nil && c.dir.suite == d.suite && c.dir.key == d.key {
		c.dir = d
	}
}
