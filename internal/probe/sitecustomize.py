# repro probe: records what this Python process opened, imported and loaded,
# and applies the seeds and determinism switches repro asked for.
#
# repro writes this file as sitecustomize.py into a private directory placed
# first on PYTHONPATH. It must never change the experiment's behaviour beyond
# the recorded pins: every step is wrapped in try/except, nothing is printed
# on stdout, and the next sitecustomize on sys.path (Debian and conda ship
# one) is executed afterwards exactly as site.py would have.
#
# Environment (set by repro capture, and by the image repro build makes):
#   REPRO_PROBE_DIR       directory for the reports, one <pid>.json per process
#   REPRO_SEED            --seed value, absent when none was asked for
#   REPRO_DETERMINISTIC   "1" for --deterministic
#
# Reports are written at exit (atexit), before os._exit (multiprocessing
# children end that way) and before an os.exec* replaces the process. A
# process killed by a signal writes no report.

import sys as _sys
import os as _os

_repro_dir = _os.path.dirname(_os.path.abspath(__file__))


def _repro_probe():
    report_dir = _os.environ.get("REPRO_PROBE_DIR")
    if not report_dir:
        return
    try:
        # In a replay the directory is a fresh one under /tmp.
        _os.makedirs(report_dir, exist_ok=True)
    except Exception:
        pass
    seed_text = _os.environ.get("REPRO_SEED", "")
    deterministic = _os.environ.get("REPRO_DETERMINISTIC") == "1"

    opened = {}  # absolute-ish path -> written
    state = {"recording": True, "written": False, "stream": None}
    pins = []  # dicts name/value/applied/note, in order applied
    getcwd = _os.getcwd
    WFLAGS = _os.O_WRONLY | _os.O_RDWR | _os.O_CREAT | _os.O_TRUNC | _os.O_APPEND

    executed = set()  # programs this process started (as named, maybe relative)

    def note_exec(event, args):
        # subprocess.Popen: (executable, args, cwd, env); os.exec and
        # os.posix_spawn: (path, args, env); os.spawn: (mode, path, args, env);
        # os.system: (command,), run by /bin/sh.
        if event == "subprocess.Popen":
            prog = args[0]
            if prog is None:
                a = args[1]
                if isinstance(a, (str, bytes)):
                    a = [a]
                prog = a[0] if a else None
        elif event == "os.spawn":
            prog = args[1]
        elif event == "os.system":
            prog = "/bin/sh"
        else:
            prog = args[0]
        if isinstance(prog, bytes):
            prog = _os.fsdecode(prog)
        elif not isinstance(prog, str):
            prog = _os.fspath(prog) if hasattr(prog, "__fspath__") else None
        if prog:
            executed.add(prog)

    def hook(event, args):
        if event in ("subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.system"):
            try:
                note_exec(event, args)
            except Exception:
                pass
        if event != "open" or not state["recording"]:
            if event == "os.exec":
                try:
                    write_report("exec")
                except Exception:
                    pass
            return
        try:
            path = args[0]
            if isinstance(path, bytes):
                path = _os.fsdecode(path)
            elif not isinstance(path, str):
                return  # a file descriptor
            if path[:1] != "/":
                path = getcwd() + "/" + path
            mode = args[1]
            w = bool(args[2] & WFLAGS) if isinstance(args[2], int) else False
            if isinstance(mode, str) and ("w" in mode or "a" in mode or "x" in mode or "+" in mode):
                w = True
            old = opened.get(path)
            if old is None or (w and not old):
                opened[path] = w or bool(old)
                fd = state["stream"]
                if fd is not None and "\n" not in path:
                    _os.write(fd, ("%s %s\n" % ("w" if w else "r", path)).encode("utf-8", "surrogateescape"))
        except Exception:
            pass

    _sys.addaudithook(hook)

    # ---- seeds and deterministic switches -------------------------------
    def pin(name, value, fn):
        entry = {"name": name, "value": str(value), "applied": False, "note": ""}
        pins.append(entry)
        try:
            fn()
            entry["applied"] = True
        except Exception as e:  # recorded, never raised
            entry["note"] = ("%s: %s" % (type(e).__name__, e))[:200]

    seed = None
    if seed_text:
        try:
            seed = int(seed_text)
        except ValueError:
            seed = None
    if seed is not None:
        def seed_random():
            import random
            random.seed(seed)
        pin("random.seed", seed, seed_random)

    after = {}  # module name -> function(module)
    if seed is not None:
        after["numpy.random"] = [lambda m: pin("numpy.random.seed", seed, lambda: m.seed(seed))]
        after["torch"] = [lambda m: pin("torch.manual_seed", seed, lambda: m.manual_seed(seed))]
        after["tensorflow"] = [lambda m: pin("tensorflow.random.set_seed", seed, lambda: m.random.set_seed(seed))]
    if deterministic:
        def torch_det(m):
            pin("torch.use_deterministic_algorithms", "True", lambda: m.use_deterministic_algorithms(True))

            def cudnn():
                m.backends.cudnn.deterministic = True
                m.backends.cudnn.benchmark = False
            pin("torch.backends.cudnn.deterministic", "True", cudnn)

        def tf_det(m):
            pin("tensorflow.config.experimental.enable_op_determinism", "True",
                lambda: m.config.experimental.enable_op_determinism())
        after.setdefault("torch", []).append(torch_det)
        after.setdefault("tensorflow", []).append(tf_det)

    if after:
        class _Loader(object):
            def __init__(self, inner, fns):
                self._inner = inner
                self._fns = fns

            def __getattr__(self, name):
                return getattr(self._inner, name)

            def create_module(self, spec):
                return self._inner.create_module(spec)

            def exec_module(self, module):
                self._inner.exec_module(module)
                try:  # put the real loader back: nothing of ours stays visible
                    module.__loader__ = self._inner
                    if module.__spec__ is not None:
                        module.__spec__.loader = self._inner
                except Exception:
                    pass
                for fn in self._fns:
                    try:
                        fn(module)
                    except Exception:
                        pass

        class _Finder(object):
            busy = set()

            def find_spec(self, name, path=None, target=None):
                fns = after.get(name)
                if fns is None or name in self.busy:
                    return None
                self.busy.add(name)
                try:
                    for finder in _sys.meta_path:
                        if finder is self or not hasattr(finder, "find_spec"):
                            continue
                        spec = finder.find_spec(name, path, target)
                        if spec is not None:
                            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                                spec.loader = _Loader(spec.loader, fns)
                            return spec
                    return None
                finally:
                    self.busy.discard(name)

            def invalidate_caches(self):
                pass

        _sys.meta_path.insert(0, _Finder())

    # ---- the report ------------------------------------------------------
    def modules():
        out = []
        for name, mod in list(_sys.modules.items()):
            f = getattr(mod, "__file__", None)
            out.append({"name": name, "file": _os.path.abspath(f) if isinstance(f, str) else ""})
        out.sort(key=lambda m: m["name"])
        return out

    def mapped():
        seen = set()
        try:
            with open("/proc/self/maps") as f:
                for line in f:
                    parts = line.split(None, 5)
                    if len(parts) < 6:
                        continue
                    p = parts[5].strip()
                    if p.endswith(" (deleted)"):
                        p = p[: -len(" (deleted)")]
                    if p[:1] != "/" or p in seen:
                        continue
                    base = p.rsplit("/", 1)[-1]
                    if ".so" in base or "x" in parts[1]:
                        seen.add(p)
        except Exception:
            pass
        return sorted(seen)

    def runtimes(libs):
        out = []
        try:
            import ctypes
        except Exception:
            return out
        noload = getattr(_os, "RTLD_NOLOAD", 4)

        def fn(lib, names, restype=ctypes.c_int):
            for n in names:
                f = getattr(lib, n, None)
                if f is not None:
                    f.restype = restype
                    f.argtypes = []
                    return f
            return None

        def cstr(v):
            if v is None:
                return ""
            return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)

        done = set()
        for path in libs:
            base = path.rsplit("/", 1)[-1]
            try:
                real = _os.path.realpath(path)
            except Exception:
                real = path
            if real in done:
                continue
            low = base.lower()
            if not (low.startswith(("libopenblas", "libblas", "libscipy_openblas", "libmkl_rt", "libblis",
                                    "libgomp", "libiomp", "libomp", "libflexiblas")) or "openblas" in low):
                continue
            try:
                lib = ctypes.CDLL(path, mode=noload)
            except Exception:
                continue
            rec = None
            for pre, suf in (("", ""), ("scipy_", "64_"), ("", "64_")):
                nt = fn(lib, [pre + "openblas_get_num_threads" + suf])
                if nt is None:
                    continue
                rec = {"api": "blas", "library": path, "name": "openblas", "version": "",
                       "core_type": "", "threads": 0}
                try:
                    rec["threads"] = int(nt())
                except Exception:
                    pass
                core = fn(lib, [pre + "openblas_get_corename" + suf], ctypes.c_char_p)
                conf = fn(lib, [pre + "openblas_get_config" + suf], ctypes.c_char_p)
                try:
                    rec["core_type"] = cstr(core()) if core else ""
                    c = cstr(conf()) if conf else ""
                    toks = c.split()
                    if len(toks) > 1 and toks[0] == "OpenBLAS":
                        rec["version"] = toks[1]
                except Exception:
                    pass
                break
            if rec is None:
                mk = fn(lib, ["MKL_Get_Max_Threads", "mkl_get_max_threads"])
                if mk is not None:
                    rec = {"api": "blas", "library": path, "name": "mkl", "version": "", "core_type": "",
                           "threads": 0}
                    try:
                        rec["threads"] = int(mk())
                        buf = ctypes.create_string_buffer(256)
                        vs = getattr(lib, "MKL_Get_Version_String", None)
                        if vs is not None:
                            vs(buf, 256)
                            rec["version"] = cstr(buf.value).strip()
                    except Exception:
                        pass
            if rec is None:
                bl = fn(lib, ["bli_thread_get_num_threads"])
                if bl is not None:
                    rec = {"api": "blas", "library": path, "name": "blis", "version": "", "core_type": "",
                           "threads": 0}
                    try:
                        rec["threads"] = int(bl())
                        v = fn(lib, ["bli_info_get_version_str"], ctypes.c_char_p)
                        rec["version"] = cstr(v()) if v else ""
                    except Exception:
                        pass
            if rec is None and low.startswith(("libgomp", "libiomp", "libomp")):
                om = fn(lib, ["omp_get_max_threads"])
                if om is not None:
                    name = "libgomp" if low.startswith("libgomp") else ("libiomp" if low.startswith("libiomp")
                                                                         else "libomp")
                    rec = {"api": "openmp", "library": path, "name": name, "version": "", "core_type": "",
                           "threads": 0}
                    try:
                        rec["threads"] = int(om())
                    except Exception:
                        pass
            if rec is not None:
                done.add(real)
                out.append(rec)
        return out

    def simd():
        for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
            m = _sys.modules.get(name)
            if m is None:
                continue
            try:
                base = list(getattr(m, "__cpu_baseline__", []))
                feats = getattr(m, "__cpu_features__", {}) or {}
                disp = [f for f in getattr(m, "__cpu_dispatch__", []) if feats.get(f)]
                return base + [f for f in disp if f not in base]
            except Exception:
                return []
        return []

    def sysconfig_facts():
        out = {}
        try:
            import sysconfig
            for k in ("SOABI", "EXT_SUFFIX", "MULTIARCH", "LIBDIR", "LDLIBRARY", "INSTSONAME",
                      "Py_ENABLE_SHARED", "HOST_GNU_TYPE", "Py_DEBUG"):
                v = sysconfig.get_config_var(k)
                if v is not None:
                    out[k] = str(v)
            for k, v in sysconfig.get_paths().items():
                out["path." + k] = str(v)
        except Exception:
            pass
        return out

    def torch_facts(rep):
        t = _sys.modules.get("torch")
        if t is None:
            return
        try:
            rep["cuda"] = str(t.version.cuda or "")
        except Exception:
            pass
        try:
            v = t.backends.cudnn.version()
            rep["cudnn"] = str(v) if v else ""
        except Exception:
            pass

    def final_pins():
        out = list(pins)
        if seed is not None:
            have = set(p["name"] for p in pins)
            for name, mod in (("numpy.random.seed", "numpy.random"), ("torch.manual_seed", "torch"),
                              ("tensorflow.random.set_seed", "tensorflow")):
                if name not in have:
                    out.append({"name": name, "value": str(seed), "applied": False,
                                 "note": mod + " not imported"})
        hs = _os.environ.get("PYTHONHASHSEED", "")
        hr = getattr(_sys.flags, "hash_randomization", 1)
        out.append({"name": "PYTHONHASHSEED", "value": hs,
                    "applied": bool(hs) and (hs == "random" or (hs == "0") == (hr == 0)),
                    "note": "" if hs else "not set in the environment"})
        return out

    def open_fds():
        # Files native code opened without Python's open (HDF5, netCDF,
        # some readers) and still holds at exit: better late than never.
        try:
            for fd in _os.listdir("/proc/self/fd"):
                if fd in ("1", "2"):  # the streams repro records as outputs
                    continue
                try:
                    p = _os.readlink("/proc/self/fd/" + fd)
                except OSError:
                    continue
                if p[:1] == "/" and p not in opened and not p.startswith(("/dev/", "/proc/", report_dir)):
                    opened[p] = False
        except Exception:
            pass

    def write_report(why):
        if (state["written"] and why != "exec") or state.get("busy"):
            return
        state["busy"] = True
        state["recording"] = False
        try:
            pid = _os.getpid()
            open_fds()
            maps = mapped()
            rep = {
                "pid": pid, "ppid": _os.getppid(),
                "argv": [str(a) for a in getattr(_sys, "argv", [])],
                "executable": _sys.executable or "",
                "real_executable": _os.path.realpath(_sys.executable) if _sys.executable else "",
                "version": "%d.%d.%d" % tuple(_sys.version_info[:3]),
                "implementation": _sys.implementation.name,
                "prefix": _sys.prefix, "base_prefix": getattr(_sys, "base_prefix", _sys.prefix),
                "path": [p for p in _sys.path if p != _repro_dir],
                "sysconfig": sysconfig_facts(),
                "opened": [{"path": _os.path.normpath(p), "write": w} for p, w in sorted(opened.items())],
                "executed": sorted(executed),
                "modules": modules(),
                "mapped": maps,
                "runtimes": runtimes(maps),
                "simd": simd(),
                "pins": [],
                "cuda": "", "cudnn": "",
            }
            torch_facts(rep)
            rep["pins"] = final_pins()
            import json
            name = "%d.json" % pid
            if why == "exec" or _os.path.exists(_os.path.join(report_dir, name)):
                import time
                name = "%d-%d.json" % (pid, time.monotonic_ns())
            final = _os.path.join(report_dir, name)
            tmp = final + ".tmp"
            with open(tmp, "w") as f:
                json.dump(rep, f)
            _os.replace(tmp, final)
        except Exception:
            pass
        finally:
            state["busy"] = False
            if why == "exec":
                state["recording"] = True  # the exec may fail and the process go on
            else:
                state["written"] = True

    import atexit
    atexit.register(write_report, "exit")

    # A forked child (multiprocessing workers on Linux) writes its own report
    # at os._exit. A worker stopped with SIGTERM (Pool.terminate, "with
    # Pool()") cannot: writing the report from a signal handler in a forked
    # child can deadlock. So a forked child also appends every new path it
    # opens to <pid>.opened as it goes (one write per new path); repro reads
    # that stream for a process that left no report.
    def _after_fork():
        state["written"] = False
        state["stream"] = None
        rec, state["recording"] = state["recording"], False
        try:
            state["stream"] = _os.open(_os.path.join(report_dir, "%d.opened" % _os.getpid()),
                                       _os.O_WRONLY | _os.O_CREAT | _os.O_APPEND | _os.O_CLOEXEC, 0o600)
        except Exception:
            pass
        state["recording"] = rec
    try:
        _os.register_at_fork(after_in_child=_after_fork)
    except Exception:
        pass

    real_exit = _os._exit

    def _exit(code):
        try:
            write_report("exit")
        except Exception:
            pass
        real_exit(code)
    try:
        _exit.__doc__ = real_exit.__doc__
        _exit.__name__ = real_exit.__name__
        _os._exit = _exit
    except Exception:
        pass


try:
    _repro_probe()
except Exception:
    pass
del _repro_probe


def _repro_chain():
    # Run the sitecustomize site.py would have found without us.
    import importlib.machinery
    import importlib.util
    path = [p for p in _sys.path
            if _os.path.abspath(p or ".") != _repro_dir]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    if spec.origin and _os.path.dirname(_os.path.abspath(spec.origin)) == _repro_dir:
        return
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # Expose what the chained sitecustomize defined, as if it were imported.
    g = globals()
    for k, v in vars(mod).items():
        if not k.startswith("__"):
            g.setdefault(k, v)


# Hide our directory from the experiment's sys.path; child processes still
# inherit PYTHONPATH from the environment.
try:
    _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _repro_dir]
except Exception:
    pass

_repro_chain()
del _repro_chain
