package publish

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
)

func ocidigest(h v1.Hash) digest.Digest { return digest.Digest(h.String()) }
