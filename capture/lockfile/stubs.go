package lockfile

func parsePoetry(path string, data []byte) ([]Package, error)          { return nil, nil }
func parseUV(path string, data []byte) ([]Package, error)              { return nil, nil }
func parsePylock(path string, data []byte) ([]Package, error)          { return nil, nil }
func parseEnvironmentYML(path string, data []byte) ([]Package, error)  { return nil, nil }
func parseCondaExplicit(path string, data []byte) ([]Package, error)   { return nil, nil }
func parseCondaLock(path string, data []byte) ([]Package, error)       { return nil, nil }
func parsePixi(path string, data []byte) ([]Package, error)            { return nil, nil }
func Detect(path string, data []byte) (string, bool)                   { return "", false }
func Find(dir string) ([]string, error)                                { return nil, nil }
