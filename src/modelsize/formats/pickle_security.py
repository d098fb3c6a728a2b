"""The security view of a pickle: which globals loading it would import, and how risky each is.

Unpickling imports every global the stream names and calls whatever REDUCE applies to, so a
global such as ``os.system`` or ``builtins.eval`` means loading the file can run arbitrary
code. The lists follow the usual scanners' (picklescan, fickling, ModelScan) deny lists.
"""

from __future__ import annotations

DANGEROUS_MODULES = frozenset({
    "os", "posix", "nt", "subprocess", "sys", "socket", "shutil", "pty", "runpy", "importlib", "code",
    "codeop", "ctypes", "webbrowser", "pickle", "_pickle", "marshal", "multiprocessing", "asyncio",
    "commands", "popen2", "platform", "pdb", "bdb", "timeit", "profile", "cProfile", "trace", "urllib",
    "urllib2", "requests", "http", "httplib", "ftplib", "smtplib", "telnetlib", "dill", "cloudpickle",
    "_posixsubprocess", "signal", "threading", "_thread", "tempfile", "glob", "zipimport", "pip",
    "setuptools", "distutils", "imp", "builtins.__import__",
})
#: Individual callables that run code, evaluate text or reach arbitrary attributes.
DANGEROUS_NAMES = frozenset({
    "builtins.eval", "builtins.exec", "builtins.compile", "builtins.__import__", "builtins.open",
    "builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.globals", "builtins.locals",
    "builtins.vars", "builtins.input", "builtins.breakpoint", "builtins.exit", "builtins.quit",
    "builtins.memoryview", "__builtin__.eval", "__builtin__.execfile", "__builtin__.file",
    "__builtin__.open", "__builtin__.getattr", "__builtin__.apply", "__builtin__.__import__",
    "operator.attrgetter", "operator.methodcaller", "types.FunctionType", "types.CodeType",
    "types.LambdaType", "types.MethodType", "numpy.testing._private.utils.runstring",
    "torch.load", "torch.serialization.load", "torch._C._jit_load", "joblib.load", "numpy.load",
    "numpy.lib.npyio.load", "pandas.read_pickle", "torch.hub.load",
})
#: Top-level packages whose classes routinely appear in model pickles.
KNOWN_PACKAGES = frozenset({
    "numpy", "scipy", "sklearn", "joblib", "torch", "collections", "copyreg", "_codecs", "datetime",
    "decimal", "fractions", "pandas", "xgboost", "lightgbm", "catboost", "statsmodels", "imblearn",
    "skops", "pathlib", "uuid", "enum", "re", "array", "numbers", "functools", "__main__",
})
KNOWN_BUILTINS = frozenset({
    "list", "dict", "set", "frozenset", "tuple", "bytearray", "bytes", "complex", "slice", "range",
    "object", "int", "float", "str", "bool", "type", "NoneType", "Ellipsis", "NotImplemented",
})


def risk_of(module: str, name: str) -> str:
    """'dangerous' (loading can run code), 'known' (an ML or stdlib data class) or 'unknown'."""
    qual = f"{module}.{name}"
    top = module.split(".")[0]
    if qual in DANGEROUS_NAMES or top in DANGEROUS_MODULES or module in DANGEROUS_MODULES:
        return "dangerous"
    if top in ("builtins", "__builtin__"):
        return "known" if name in KNOWN_BUILTINS else "unknown"
    if top in KNOWN_PACKAGES and top != "__main__":
        return "known"
    return "unknown"
