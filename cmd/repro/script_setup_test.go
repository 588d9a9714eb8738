package main

import (
	"github.com/rogpeppe/go-internal/testscript"
)

// scriptSetup prepares every script's environment: HOME inside the work
// directory so nothing on the machine is read or written.
func scriptSetup(env *testscript.Env) error {
	env.Setenv("HOME", env.WorkDir+"/home")
	return pushScriptSetup(env)
}
