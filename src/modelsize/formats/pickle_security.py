"""The security view of a pickle: which globals loading it would import, and the file's verdict.

Unpickling imports every global the stream names and calls whatever REDUCE applies to, so a
global such as ``os.system`` or ``builtins.eval`` means loading the file can run arbitrary
code. The policy (SECURITY.md) is an explicit allowlist of *exact* globals
(:mod:`.pickle_allowlist`): trusting whole packages is not safe, since ``torch`` or ``numpy``
also hold functions that run commands (``torch.utils.collect_env.run``). Every other global is
``unknown`` unless a rule below shows it can run code, read or write files, or reach arbitrary
attributes: then it is ``dangerous``, with the reason.

Names are judged as the real loader resolves them: protocol <= 2 names go through Python's
``fix_imports`` mapping (``__builtin__.exec`` is ``builtins.exec``), and dotted names
(``pathlib`` + ``os.system`` under protocol 4) are judged by every module they pass through.
"""

from __future__ import annotations

import _compat_pickle

from .pickle_allowlist import ALLOWED_GLOBALS

#: Modules whose every callable can run code, touch processes, files or the network.
DANGEROUS_MODULES = frozenset({
    "os", "posix", "nt", "subprocess", "sys", "socket", "shutil", "pty", "runpy", "importlib", "code",
    "codeop", "ctypes", "webbrowser", "pickle", "_pickle", "marshal", "multiprocessing", "asyncio",
    "commands", "popen2", "platform", "pdb", "bdb", "timeit", "profile", "cProfile", "trace", "urllib",
    "urllib2", "requests", "http", "httplib", "ftplib", "smtplib", "telnetlib", "dill", "cloudpickle",
    "_posixsubprocess", "signal", "threading", "_thread", "tempfile", "glob", "zipimport", "pip",
    "setuptools", "distutils", "imp", "posixpath", "ntpath", "genericpath", "fileinput", "linecache",
    "sqlite3", "venv", "ensurepip", "pydoc", "inspect", "_ctypes", "operator", "_operator", "gc", "_winapi",
    "msvcrt", "winreg", "joblib.externals",
    # name resolvers and import gadgets: they take a string and import, resolve, open or run it
    "pkgutil", "logging.config", "torch.hub", "torch.fx", "torch.package", "torch.jit", "torch._dynamo",
    "torch.utils.cpp_extension", "torch.utils.hooks", "builtins.__import__", "copyreg", "copy_reg", "zipimport",
    "types", "numpy.f2py", "numpy.distutils", "numpy.testing", "pydoc", "importlib_metadata",
})
#: Individual callables that run code, evaluate text, open files or reach arbitrary attributes.
DANGEROUS_NAMES = frozenset({
    "builtins.eval", "builtins.exec", "builtins.compile", "builtins.__import__", "builtins.open",
    "builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.globals", "builtins.locals",
    "builtins.vars", "builtins.input", "builtins.breakpoint", "builtins.exit", "builtins.quit",
    "builtins.memoryview", "builtins.execfile", "builtins.file", "builtins.apply", "builtins.help",
    "numpy.testing._private.utils.runstring", "numpy.load", "numpy.lib.npyio.load", "numpy.fromfile",
    "numpy.loadtxt", "numpy.genfromtxt", "numpy.save", "numpy.savetxt", "numpy.tofile", "numpy.memmap",
    "numpy.core.memmap.memmap", "numpy._core.memmap.memmap", "numpy.lib.format.open_memmap",
    "torch.load", "torch.serialization.load", "torch._C._jit_load", "torch.hub.load", "torch.jit.load",
    "torch.save", "torch.utils.collect_env.run", "torch.utils.cpp_extension.load",
    "joblib.load", "joblib.dump", "pandas.read_pickle", "pandas.io.pickle.read_pickle",
    "keras.models.load_model", "tensorflow.io.gfile.GFile", "io.open", "io.FileIO", "io.open_code", "_io.open",
    "_io.FileIO", "types.FunctionType", "types.CodeType", "types.LambdaType", "types.MethodType",
    "functools.reduce",  # calls a stream value on stream values: any callable the stream built
})
#: Last components that name a call which runs a command, evaluates code, loads or writes files.
DANGEROUS_CALLS = frozenset({
    "system", "popen", "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput", "spawn",
    "eval", "exec", "execfile", "compile", "load", "loads", "load_model", "unpickle", "open", "urlopen",
    "import_module", "__import__", "remove", "unlink", "rmtree", "rename", "replace", "write", "write_text",
    "write_bytes", "mkdir", "makedirs", "chmod", "chown", "symlink", "startfile", "fork", "kill",
    "read_text", "read_bytes", "fromfile", "system_call", "runstring", "getattr", "setattr", "attrgetter",
    "methodcaller", "apply", "__getattribute__", "__reduce__", "__reduce_ex__", "__setstate__",
    # name-resolving callables: a string in, an arbitrary object (a function, a module) out
    "resolve_name", "import_string", "locate", "find_class", "get_callable", "dictConfig", "fileConfig", "listen",
    "_resolve", "resolve", "importer", "get_class", "load_entry_point", "itemgetter",
})
_DANGEROUS_PREFIXES = ("exec", "spawn", "popen", "system")

RISK_ORDER = {"dangerous": 0, "unknown": 1, "known": 2}


def resolve(module: str, name: str, protocol: int) -> tuple[str, str]:
    """The global the real unpickler imports: ``fix_imports`` applies below protocol 3."""
    if protocol < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            return _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return module, name


def judge(module: str, name: str) -> tuple[str, str]:
    """``(risk, why)``: 'known' (allowlisted), 'dangerous' (loading can run code) or 'unknown'.

    The allowlist is checked first, but every entry was audited for "takes a string and resolves,
    imports, opens or executes it" (SECURITY.md); EXT1/2/4 (copyreg's extension registry, which
    maps a number to any global the process registered) is never safe.
    """
    qual = f"{module}.{name}"
    if module in ("copyreg", "copy_reg") and name.startswith("<extension"):
        return "dangerous", ("an EXT opcode: copyreg's extension registry resolves the code to whatever global "
                             "the loading process registered, which the file cannot show")
    if qual in ALLOWED_GLOBALS:
        return "known", "on the allowlist"
    parts = [p for p in qual.split(".") if p]
    last = parts[-1] if parts else ""
    in_module = len([p for p in module.split(".") if p])
    for i in range(len(parts) - 1):
        prefix = ".".join(parts[: i + 1])
        reached = i == 0 or i >= in_module  # a top-level module, or one reached through attributes
        if prefix in DANGEROUS_MODULES or (reached and parts[i] in DANGEROUS_MODULES):
            return "dangerous", f"it reaches the {parts[i]!r} module, which runs commands or touches files"
        for cand in (".".join(parts[: i + 2]), f"{parts[i]}.{parts[i + 1]}"):
            if cand in DANGEROUS_NAMES:
                return "dangerous", f"it resolves to {cand}, which runs code or reads and writes files"
    if any(p.startswith("__") and p.endswith("__") for p in name.split(".")):
        return "dangerous", "it names a dunder attribute, which reaches arbitrary objects"
    if last in DANGEROUS_CALLS or last.lower().startswith(_DANGEROUS_PREFIXES):
        return "dangerous", f"'{last}' runs commands, evaluates code or reads and writes files"
    if "." in name:
        return "unknown", "a dotted name outside the allowlist (resolved through attributes)"
    return "unknown", "not on the allowlist"


def risk_of(module: str, name: str) -> str:
    """'dangerous', 'known' or 'unknown' for one global (already resolved)."""
    return judge(module, name)[0]


def verdict_of(risks: list[str]) -> str:
    """The file's verdict: 'dangerous' if any global is, 'unknown' if any is, else 'safe'."""
    if "dangerous" in risks:
        return "dangerous"
    if "unknown" in risks:
        return "unknown"
    return "safe"
