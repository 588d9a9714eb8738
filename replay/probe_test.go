package replay

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWithoutShims(t *testing.T) {
	py := "/root/.pyenv/versions/3.11.7/bin/python3"
	assert.Equal(t, "/root/.pyenv/versions/3.11.7/bin:/usr/bin:/bin",
		withoutShims("/root/.pyenv/shims:/usr/bin:/bin", py))
	assert.Equal(t, "/usr/local/bin:/root/.pyenv/versions/3.11.7/bin:/usr/bin",
		withoutShims("/usr/local/bin:/home/u/.asdf/shims:/root/.pyenv/versions/3.11.7/bin:/usr/bin", py), "no duplicate")
	assert.Equal(t, "/usr/bin:/bin", withoutShims("/usr/bin:/bin", py), "nothing to replace")
	assert.Equal(t, "/root/.pyenv/shims:/usr/bin", withoutShims("/root/.pyenv/shims:/usr/bin", ""), "no interpreter recorded")
}
