"""``hf://ORG/NAME[@REVISION][/PATH]``: a Hugging Face repository resolved through ``HfApi``.

One Hub API call (``model_info``) turns the revision into its commit and lists the files; the
files are then read with Range requests at ``{endpoint}/{repo}/resolve/{commit}/{path}``. A URL
that names a commit never changes, so its cached headers are used without any check. The
endpoint and token are read when the target is resolved: ``HF_ENDPOINT`` and ``HF_TOKEN`` (or
the token huggingface_hub stored at login); proxies come from the usual environment variables.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlparse

from ...core.errors import RemoteError, TargetError
from ...core.optional import require
from .cache import HeaderCache
from .paths import HubRepo

PREFIX = "hf://"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def token() -> str | None:
    explicit = os.environ.get("HF_TOKEN")
    if explicit:
        return explicit
    hub = require("huggingface_hub", "read models from the Hugging Face Hub")
    return hub.get_token()


def hub_offline() -> bool:
    """huggingface_hub's own offline switch (``HF_HUB_OFFLINE=1``), honoured for ``hf://`` targets."""
    constants = require("huggingface_hub.constants", "read models from the Hugging Face Hub")
    return bool(constants.HF_HUB_OFFLINE)


def parse(target: str) -> tuple[str, str | None, str]:
    """``hf://org/name@rev/sub/file`` → ``("org/name", "rev", "sub/file")``; ``@refs%2Fpr%2F1`` → ``refs/pr/1``."""
    rest = target[len(PREFIX):]
    parts = rest.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise TargetError(f"The target {target!r} is not 'hf://ORG/NAME[@REVISION][/PATH]'. Write e.g. "
                          "'hf://meta-llama/Llama-3.1-8B' or 'hf://org/name@main/model.safetensors'.")
    name, _, revision = parts[1].partition("@")
    revision = unquote(revision)  # refs/pr/1 is written refs%2Fpr%2F1 (a '/' would start the path)
    for part in (parts[0], name):
        if not _PART.match(part):
            raise TargetError(f"{part!r} in {target!r} is not a valid repository name part "
                              "(letters, digits, '.', '_' and '-').")
    return f"{parts[0]}/{name}", (revision or None), "/".join(parts[2:]).strip("/")


def resolve(repo_id: str, revision: str | None, cache: HeaderCache, offline: bool, timeout: float) -> tuple[HubRepo, int]:
    """The repository at its commit, and the number of API calls made (0 or 1)."""
    base = endpoint()
    key = f"hf-revision:{base}|{repo_id}|{revision or ''}"
    doc = cache.load_doc(key)
    if offline or (doc is not None and revision is not None and _SHA.match(revision)):
        if doc is None:
            raise RemoteError(f"hf://{repo_id}{'@' + revision if revision else ''} is not in the header cache "
                              f"({cache.folder}); --offline (or HF_HUB_OFFLINE=1) reads only the cache. Inspect it "
                              "once online.")
        return _repo(base, repo_id, revision, doc), 0
    hub = require("huggingface_hub", "read models from the Hugging Face Hub")
    errors = require("huggingface_hub.errors", "read models from the Hugging Face Hub")
    httpx2 = _http_errors()
    try:
        info = hub.HfApi(endpoint=base).model_info(repo_id, revision=revision, token=token(), timeout=timeout,
                                                   files_metadata=True)  # sizes too: stat() needs no request
    except errors.GatedRepoError as exc:
        raise RemoteError(f"hf://{repo_id} is gated: accept its terms on the Hub, then set HF_TOKEN to a token "
                          "of that account.") from exc
    except errors.RevisionNotFoundError as exc:
        raise TargetError(f"hf://{repo_id} has no revision {revision!r}. Check the branch, tag or commit.") from exc
    except errors.RepositoryNotFoundError as exc:
        raise TargetError(f"No model repository hf://{repo_id} at {base} (or it is private: set HF_TOKEN). "
                          "Check the name.") from exc
    except (errors.HfHubHTTPError, OSError, *httpx2) as exc:
        text = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
        raise RemoteError(f"The Hub API at {base} did not answer for hf://{repo_id}: {text}. Check the network, "
                          "HF_ENDPOINT and proxy settings, or use --offline with the header cache.") from exc
    if not info.sha or info.siblings is None:
        raise RemoteError(f"The Hub API at {base} gave no commit or file list for hf://{repo_id}.")
    doc = {"sha": info.sha, "files": [s.rfilename for s in info.siblings],
           "sizes": {s.rfilename: s.size for s in info.siblings if isinstance(s.size, int)}}
    cache.save_doc(key, doc)
    return _repo(base, repo_id, revision, doc), 1


def _repo(base: str, repo_id: str, revision: str | None, doc: dict) -> HubRepo:
    sizes = doc.get("sizes") if isinstance(doc.get("sizes"), dict) else {}
    return HubRepo(endpoint=base, repo_id=repo_id, revision=revision, sha=str(doc["sha"]),
                   files=tuple(str(f) for f in doc["files"]),
                   sizes=tuple((str(k), int(v)) for k, v in sizes.items() if isinstance(v, int)))


def _http_errors() -> tuple[type[BaseException], ...]:
    try:
        import httpx2  # huggingface_hub >= 2 talks through httpx2

        return (httpx2.HTTPError,)
    except ImportError:  # pragma: no cover - older huggingface_hub
        try:
            import httpx

            return (httpx.HTTPError,)
        except ImportError:
            return ()


def blob_to_resolve(url: str) -> str | None:
    """A Hub web page URL (``/ORG/NAME/blob/REV/PATH``) → the file's download URL (``/resolve/``), else None."""
    base, target = urlparse(endpoint()), urlparse(url)
    parts = target.path.split("/")
    if (target.scheme, target.netloc) == (base.scheme, base.netloc) and len(parts) > 5 and parts[3] == "blob":
        parts[3] = "resolve"
        return target._replace(path="/".join(parts)).geturl()
    return None


def headers_for(url: str) -> dict[str, str]:
    """Hub URLs get the Hub's headers (token, user agent); any other host gets none of them."""
    base = urlparse(endpoint())
    target = urlparse(url)
    if (target.scheme, target.netloc) == (base.scheme, base.netloc):
        utils = require("huggingface_hub.utils", "read models from the Hugging Face Hub")
        return dict(utils.build_hf_headers(token=token(), library_name="modelsize"))
    return {"User-Agent": "modelsize"}
