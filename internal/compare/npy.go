package compare

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// NpyHeader is the parsed header of a NumPy .npy file.
type NpyHeader struct {
	Descr        string `json:"dtype"` // e.g. "<f8"
	FortranOrder bool   `json:"fortran_order"`
	Shape        []int  `json:"shape"`
	// DataOffset is where the array data starts in the file.
	DataOffset int `json:"-"`
}

// Elements is the number of elements the shape holds.
func (h *NpyHeader) Elements() int {
	n := 1
	for _, d := range h.Shape {
		n *= d
	}
	return n
}

// maxNpyHeader bounds the header length accepted.
const maxNpyHeader = 1 << 20

// ParseNpyHeader parses the header of a .npy file (format versions 1, 2
// and 3) and checks that the data that follows has exactly the size the
// dtype and shape promise. Only simple dtypes (one type code, no
// structured arrays) are accepted.
func ParseNpyHeader(b []byte) (*NpyHeader, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, errors.New("not a .npy file (bad magic)")
	}
	major := b[6]
	var hlen, off int
	switch major {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, errors.New("truncated .npy header")
		}
		hlen, off = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return nil, fmt.Errorf("unsupported .npy format version %d", major)
	}
	if hlen > maxNpyHeader || off+hlen > len(b) {
		return nil, errors.New("truncated .npy header")
	}
	h, err := parseNpyDict(string(b[off : off+hlen]))
	if err != nil {
		return nil, err
	}
	h.DataOffset = off + hlen
	size, err := itemSize(h.Descr)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range h.Shape {
		if d < 0 || d > 0 && n > math.MaxInt32/d {
			return nil, errors.New("array shape too large")
		}
		n *= d
	}
	if n > math.MaxInt64/size || len(b)-h.DataOffset != n*size {
		return nil, fmt.Errorf("data is %d bytes, shape %v of %s needs %d", len(b)-h.DataOffset, h.Shape, h.Descr, n*size)
	}
	return h, nil
}

func itemSize(descr string) (int, error) {
	if len(descr) < 3 || !strings.ContainsRune("<>|=", rune(descr[0])) {
		return 0, fmt.Errorf("unsupported dtype %q", descr)
	}
	size, err := strconv.Atoi(descr[2:])
	if err != nil {
		return 0, fmt.Errorf("unsupported dtype %q", descr)
	}
	ok := false
	switch descr[1] {
	case 'f':
		ok = size == 2 || size == 4 || size == 8
	case 'i', 'u':
		ok = size == 1 || size == 2 || size == 4 || size == 8
	case 'b':
		ok = size == 1
	}
	if !ok {
		return 0, fmt.Errorf("unsupported dtype %q", descr)
	}
	return size, nil
}

// parseNpyDict reads the Python dict literal of a .npy header.
func parseNpyDict(s string) (*NpyHeader, error) {
	p := &pyLex{s: strings.TrimSpace(s)}
	if !p.eat('{') {
		return nil, errors.New("malformed .npy header: no dict")
	}
	h := &NpyHeader{}
	seen := map[string]bool{}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if !p.eat(':') {
			return nil, errors.New("malformed .npy header: missing ':'")
		}
		p.space()
		switch key {
		case "descr":
			if h.Descr, err = p.str(); err != nil {
				return nil, fmt.Errorf("malformed .npy header: descr: %w", err)
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				h.FortranOrder = true
			case p.word("False"):
			default:
				return nil, errors.New("malformed .npy header: fortran_order")
			}
		case "shape":
			if h.Shape, err = p.tuple(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("malformed .npy header: unexpected key %q", key)
		}
		seen[key] = true
		p.space()
		if !p.eat(',') {
			p.space()
			if !p.eat('}') {
				return nil, errors.New("malformed .npy header: expected ',' or '}'")
			}
			break
		}
	}
	if !seen["descr"] || !seen["fortran_order"] || !seen["shape"] {
		return nil, errors.New("malformed .npy header: missing descr, fortran_order or shape")
	}
	return h, nil
}

type pyLex struct {
	s string
	i int
}

func (p *pyLex) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *pyLex) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *pyLex) word(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *pyLex) str() (string, error) {
	if p.i >= len(p.s) || p.s[p.i] != '\'' && p.s[p.i] != '"' {
		return "", errors.New("malformed .npy header: expected a string")
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("malformed .npy header: unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, nil
}

func (p *pyLex) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, errors.New("malformed .npy header: shape is not a tuple")
	}
	shape := []int{}
	for {
		p.space()
		if p.eat(')') {
			return shape, nil
		}
		j := p.i
		for j < len(p.s) && isDigit(p.s[j]) {
			j++
		}
		if j == p.i || j-p.i > 12 {
			return nil, errors.New("malformed .npy header: bad shape")
		}
		d, _ := strconv.Atoi(p.s[p.i:j])
		if len(shape) >= 64 {
			return nil, errors.New("malformed .npy header: too many dimensions")
		}
		shape = append(shape, d)
		p.i = j
		p.space()
		if !p.eat(',') {
			p.space()
			if !p.eat(')') {
				return nil, errors.New("malformed .npy header: bad shape")
			}
			return shape, nil
		}
	}
}

// element returns element i of the array data as float64.
func element(h *NpyHeader, data []byte, i int) float64 {
	size, _ := itemSize(h.Descr)
	b := data[i*size : (i+1)*size]
	var u uint64
	big := h.Descr[0] == '>'
	for k := 0; k < size; k++ {
		idx := k
		if big {
			idx = size - 1 - k
		}
		u |= uint64(b[idx]) << (8 * k)
	}
	switch h.Descr[1] {
	case 'f':
		switch size {
		case 2:
			return half(uint16(u))
		case 4:
			return float64(math.Float32frombits(uint32(u)))
		default:
			return math.Float64frombits(u)
		}
	case 'i':
		shift := 64 - 8*size
		return float64(int64(u<<shift) >> shift)
	default:
		return float64(u)
	}
}

// half converts IEEE 754 binary16 bits to float64.
func half(h uint16) float64 {
	sign := 1.0
	if h>>15 == 1 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * frac / 1024 * math.Pow(2, -14)
	case 0x1f:
		if frac == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	}
	return sign * (1 + frac/1024) * math.Pow(2, float64(exp-15))
}
