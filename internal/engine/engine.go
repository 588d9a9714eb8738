// Package engine is repro's adapter to the local Docker Engine through the
// moby client: connecting (DOCKER_HOST and docker contexts honoured), loading
// image tars, finding, inspecting and removing images (this file), and
// running containers (container.go).
//
// Every error says what to do next: an engine that is not running, one too
// old for API 1.40, or a disk that filled up while loading are reported as
// such rather than as raw HTTP failures.
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
)

// MinAPIVersion is the oldest Docker Engine API repro talks to (Docker 19.03).
const MinAPIVersion = "1.40"

// ErrImageNotFound is returned (wrapped) when an image reference is unknown
// to the engine.
var ErrImageNotFound = errors.New("image not found")

// Engine is a connection to one Docker Engine. It is safe for concurrent use.
type Engine struct {
	cli *client.Client
	// Host is the daemon address in use ("unix:///var/run/docker.sock").
	Host string
	// Context is the docker context the host came from ("" when it came from
	// DOCKER_HOST or the default).
	Context string
	// APIVersion is the negotiated API version.
	APIVersion string
}

// Connect connects to the Docker Engine the docker CLI would use: DOCKER_HOST
// when set, else the context named by DOCKER_CONTEXT or by currentContext in
// the docker config file ($DOCKER_CONFIG or ~/.docker/config.json), else the
// default socket. It pings the engine and negotiates the API version, so a
// returned Engine is known to be reachable and recent enough.
func Connect(ctx context.Context) (*Engine, error) {
	opts := []client.Opt{client.FromEnv, client.WithUserAgent("repro")}
	e := &Engine{}
	if os.Getenv(client.EnvOverrideHost) == "" {
		name, host, err := contextHost()
		if err != nil {
			return nil, err
		}
		if host != "" {
			opts = append(opts, client.WithHost(host))
			e.Context = name
		}
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("configuring the Docker client: %w (check DOCKER_HOST and the docker context)", err)
	}
	e.cli = cli
	e.Host = cli.DaemonHost()
	ping, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		cli.Close()
		return nil, connectError(e.Host, err)
	}
	if err := checkVersions(e.Host, ping.APIVersion, os.Getenv(client.EnvOverrideAPIVersion)); err != nil {
		cli.Close()
		return nil, err
	}
	e.APIVersion = cli.ClientVersion()
	return e, nil
}

// checkVersions refuses an engine older than MinAPIVersion and a
// DOCKER_API_VERSION pin the engine or repro cannot speak.
func checkVersions(host, server, pinned string) error {
	if server != "" && versions.LessThan(server, MinAPIVersion) {
		return fmt.Errorf("the Docker Engine at %s speaks API %s, older than the %s repro needs: upgrade Docker to 19.03 or later", host, server, MinAPIVersion)
	}
	if pinned == "" {
		return nil
	}
	if versions.LessThan(pinned, MinAPIVersion) {
		return fmt.Errorf("DOCKER_API_VERSION=%s is older than the API %s repro needs: unset it to let repro negotiate", pinned, MinAPIVersion)
	}
	if server != "" && versions.GreaterThan(pinned, server) {
		return fmt.Errorf("DOCKER_API_VERSION=%s is newer than the API %s of the Docker Engine at %s: unset it to let repro negotiate", pinned, server, host)
	}
	return nil
}

func connectError(host string, err error) error {
	if client.IsErrConnectionFailed(err) || strings.Contains(err.Error(), "connect:") {
		return fmt.Errorf("cannot reach the Docker Engine at %s: is it running? (start it, or point DOCKER_HOST or the docker context at a running engine): %w", host, err)
	}
	if strings.Contains(err.Error(), "minimum supported API version") || strings.Contains(err.Error(), "is too new") {
		return fmt.Errorf("the Docker Engine at %s is too old or pinned by DOCKER_API_VERSION to an unsupported API (repro needs API %s or later): %w", host, MinAPIVersion, err)
	}
	return fmt.Errorf("connecting to the Docker Engine at %s: %w", host, err)
}

// contextHost resolves the docker CLI's current context to its endpoint
// host. It returns "" for the default context.
func contextHost() (name, host string, err error) {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, herr := os.UserHomeDir()
		if herr != nil {
			return "", "", nil
		}
		dir = filepath.Join(home, ".docker")
	}
	name = os.Getenv("DOCKER_CONTEXT")
	if name == "" {
		b, rerr := os.ReadFile(filepath.Join(dir, "config.json"))
		if rerr != nil {
			return "", "", nil // no config: the default context
		}
		var cfg struct {
			CurrentContext string `json:"currentContext"`
		}
		if jerr := json.Unmarshal(b, &cfg); jerr != nil {
			return "", "", fmt.Errorf("reading %s: %w", filepath.Join(dir, "config.json"), jerr)
		}
		name = cfg.CurrentContext
	}
	if name == "" || name == "default" {
		return "", "", nil
	}
	sum := sha256.Sum256([]byte(name))
	meta := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
	b, err := os.ReadFile(meta)
	if err != nil {
		return "", "", fmt.Errorf("docker context %q: reading %s: %w (run \"docker context ls\" and \"docker context use\")", name, meta, err)
	}
	var m struct {
		Endpoints map[string]struct {
			Host string `json:"Host"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return "", "", fmt.Errorf("docker context %q: reading %s: %w", name, meta, err)
	}
	host = m.Endpoints["docker"].Host
	if host == "" {
		return "", "", fmt.Errorf("docker context %q has no docker endpoint host in %s", name, meta)
	}
	return name, host, nil
}

// Client returns the underlying moby client, for calls this package does not wrap.
func (e *Engine) Client() *client.Client { return e.cli }

// Close releases the connection.
func (e *Engine) Close() error { return e.cli.Close() }

// Load streams an image tar (docker-save or combined OCI layout, see
// internal/ociimage) into the engine and returns the loaded image's ID or
// name as the engine reports it ("sha256:..." or "repro:tag"). It reads the
// engine's JSON message stream to the end and fails on any error message in
// it, since the engine reports many load failures with HTTP 200.
func (e *Engine) Load(ctx context.Context, tar io.Reader) (id string, err error) {
	res, err := e.cli.ImageLoad(ctx, tar, client.ImageLoadWithQuiet(true))
	if err != nil {
		return "", loadError(e.Host, err)
	}
	defer res.Close()
	return decodeLoadStream(res, e.Host)
}

// decodeLoadStream reads the ImageLoad JSON message stream to EOF.
func decodeLoadStream(r io.Reader, host string) (string, error) {
	dec := json.NewDecoder(r)
	var loaded string
	for {
		var m struct {
			jsonstream.Message
			ErrorText string `json:"error"`
		}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return "", fmt.Errorf("reading the Docker Engine's load response: %w", err)
		}
		if m.Error != nil && m.Error.Message != "" {
			return "", loadError(host, errors.New(m.Error.Message))
		}
		if m.ErrorText != "" {
			return "", loadError(host, errors.New(m.ErrorText))
		}
		s := strings.TrimSpace(m.Stream)
		for _, p := range []string{"Loaded image ID: ", "Loaded image: "} {
			if v, ok := strings.CutPrefix(s, p); ok {
				// Prefer the ID line; otherwise the first name.
				if p == "Loaded image ID: " || loaded == "" {
					loaded = v
				}
			}
		}
	}
	if loaded == "" {
		return "", fmt.Errorf("the Docker Engine at %s loaded the tar but named no image", host)
	}
	return loaded, nil
}

func loadError(host string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "no space left on device") {
		return fmt.Errorf("the Docker Engine at %s ran out of disk space while loading the image (free space with \"docker system prune\" or build with --data-external): %w", host, err)
	}
	if client.IsErrConnectionFailed(err) {
		return connectError(host, err)
	}
	return fmt.Errorf("loading the image into the Docker Engine at %s: %w", host, err)
}

// FindImageByLabel returns the ID of an image carrying the label key=value,
// and whether one exists. When several do, the first the engine lists is
// returned.
func (e *Engine) FindImageByLabel(ctx context.Context, key, value string) (ref string, found bool, err error) {
	res, err := e.cli.ImageList(ctx, client.ImageListOptions{
		Filters: make(client.Filters).Add("label", key+"="+value),
	})
	if err != nil {
		return "", false, fmt.Errorf("listing images of the Docker Engine at %s: %w", e.Host, err)
	}
	for _, it := range res.Items {
		if it.Labels[key] == value {
			return it.ID, true, nil
		}
	}
	return "", false, nil
}

// ImageInfo is what repro needs from an engine's view of an image.
type ImageInfo struct {
	ID       string
	RepoTags []string
	// DiffIDs are the image's layer diffIDs, identical on the classic and
	// the containerd image stores.
	DiffIDs []string
	Labels  map[string]string
	Size    int64
}

// Inspect returns the engine's record of image ref (ID, name or tag). An
// unknown ref gives an error wrapping ErrImageNotFound.
func (e *Engine) Inspect(ctx context.Context, ref string) (*ImageInfo, error) {
	res, err := e.cli.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("image %s: %w in the Docker Engine at %s", ref, ErrImageNotFound, e.Host)
		}
		return nil, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	info := &ImageInfo{ID: res.ID, RepoTags: res.RepoTags, Size: res.Size}
	if res.RootFS.Layers != nil {
		info.DiffIDs = append(info.DiffIDs, res.RootFS.Layers...)
	}
	if res.Config != nil {
		info.Labels = res.Config.Labels
	}
	return info, nil
}

// Save streams the docker-save tar of image ref. The caller closes it.
func (e *Engine) Save(ctx context.Context, ref string) (io.ReadCloser, error) {
	res, err := e.cli.ImageSave(ctx, []string{ref})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("image %s: %w in the Docker Engine at %s", ref, ErrImageNotFound, e.Host)
		}
		return nil, fmt.Errorf("exporting image %s: %w", ref, err)
	}
	return res, nil
}

// RemoveImage removes image ref (forcing, so tags pointing at it go too).
// Removing an image that does not exist is not an error.
func (e *Engine) RemoveImage(ctx context.Context, ref string) error {
	_, err := e.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing image %s: %w", ref, err)
	}
	return nil
}
