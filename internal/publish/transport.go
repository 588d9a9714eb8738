package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ErrPlainHTTP is returned when a registry would be reached over plain HTTP
// without permission: Options.Insecure not set, or a host that is not loopback.
var ErrPlainHTTP = errors.New("plain HTTP refused")

// Options are the connection settings shared by Push and Pull.
type Options struct {
	// Insecure allows plain HTTP to a registry on a loopback host
	// (127.0.0.0/8, ::1, localhost). It is refused for any other host.
	Insecure bool
	// Keychain supplies credentials; nil means authn.DefaultKeychain (the
	// Docker config file and its credential helpers).
	Keychain authn.Keychain
	// Transport is the HTTP transport under the byte counter; nil means
	// remote.DefaultTransport.
	Transport http.RoundTripper
	// Progress, when set, receives (bytes done, bytes total) while Push
	// uploads the image. It is called from another goroutine.
	Progress func(done, total int64)
}

// IsLoopback reports whether a registry host (with or without port) names
// this machine: localhost, 127.0.0.0/8 or ::1.
func IsLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseRef parses a user's reference, applying the plain-HTTP policy.
func parseRef(ref string, o Options) (name.Reference, error) {
	var nopts []name.Option
	if o.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	if o.Insecure && !IsLoopback(r.Context().RegistryStr()) {
		return nil, fmt.Errorf("%w: --insecure is only allowed for a registry on this machine (localhost, 127.0.0.1, ::1), not %s; use HTTPS", ErrPlainHTTP, r.Context().RegistryStr())
	}
	return r, nil
}

// counter is an http.RoundTripper that counts request body bytes actually
// handed to the network and refuses plain HTTP unless allowed.
type counter struct {
	next      http.RoundTripper
	allowHTTP bool
	sent      atomic.Int64
}

func newCounter(o Options) *counter {
	next := o.Transport
	if next == nil {
		next = remote.DefaultTransport
	}
	return &counter{next: next, allowHTTP: o.Insecure}
}

// RoundTrip implements http.RoundTripper.
func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !(c.allowHTTP && IsLoopback(req.URL.Host)) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w to %s: use HTTPS, or --insecure for a registry on this machine", ErrPlainHTTP, req.URL.Host)
	}
	if req.Body != nil && req.Body != http.NoBody {
		r2 := req.Clone(req.Context())
		r2.Body = &countingBody{ReadCloser: req.Body, n: &c.sent}
		req = r2
	}
	return c.next.RoundTrip(req)
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// remoteOptions returns the ggcr options for one operation: this counter as
// transport, credentials from the keychain, and the context.
func (c *counter) remoteOptions(ctx context.Context, o Options) []remote.Option {
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return []remote.Option{remote.WithTransport(c), remote.WithAuthFromKeychain(kc), remote.WithContext(ctx)}
}

// withProgress adds a progress channel forwarding to o.Progress, when set.
// The returned wait function blocks until ggcr has closed the channel.
func withProgress(opts []remote.Option, o Options) ([]remote.Option, func()) {
	if o.Progress == nil {
		return opts, func() {}
	}
	ch := make(chan v1.Update, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range ch {
			if u.Error == nil {
				o.Progress(u.Complete, u.Total)
			}
		}
	}()
	return append(opts, remote.WithProgress(ch)), func() { <-done }
}
