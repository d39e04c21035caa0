"""Which Ollama host serves a model, under which name, with which credential.

Decided per model (never fixed by the first model a provider saw), in this order:

==============================  ====================================  ========================
model / settings                host                                  name sent
==============================  ====================================  ========================
``base_url`` given              ``base_url``                          unchanged (suffix
                                                                      stripped if it is the
                                                                      cloud URL)
``*-cloud`` / ``*:cloud``       cloud URL (``https://ollama.com``)    suffix stripped
and an API key                  with ``Authorization: Bearer``
``*-cloud`` without API key     local daemon (``OLLAMA_HOST`` or      unchanged
                                ``http://localhost:11434``)
plain name, ``api_key`` arg     cloud URL                             unchanged
plain name, ``OLLAMA_API_KEY``  cloud URL, unless ``OLLAMA_HOST`` is  unchanged
                                set (then the local daemon)
plain name, no key              local daemon                          unchanged
==============================  ====================================  ========================

Why the ``-cloud`` suffix is stripped for ollama.com: Ollama's docs use ``gpt-oss:120b-cloud``
only with a signed-in *local* daemon (which forwards it to the cloud) and the plain name
``gpt-oss:120b`` against ``https://ollama.com/api``. The original project sent the suffixed
name to ollama.com. Without a key, ollama.com can only answer 401, so a ``-cloud`` model goes
to the local daemon, which serves it once ``ollama signin`` has been run.

The cloud key is sent only to the cloud URL (or to ``base_url`` when passed explicitly as
``api_key``), never to a local daemon that does not need it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_CLOUD_URL",
    "DEFAULT_LOCAL_HOST",
    "OllamaTarget",
    "is_cloud_model",
    "normalize_host",
    "resolve_target",
    "strip_cloud_suffix",
]

DEFAULT_LOCAL_HOST = "http://localhost:11434"
DEFAULT_CLOUD_URL = "https://ollama.com"
_DEFAULT_PORT = 11434


@dataclass(frozen=True)
class OllamaTarget:
    """Where one model's requests go."""

    host: str
    """Normalized base URL, e.g. ``http://localhost:11434``."""
    model: str
    """The model name to put in the request body."""
    is_cloud: bool
    """True when ``host`` is the Ollama Cloud API."""
    api_key: str | None = field(default=None, repr=False)
    """Bearer credential for ``host`` (kept out of ``repr`` so it never reaches a log)."""


def is_cloud_model(name: str) -> bool:
    """True for Ollama's cloud model names (``gpt-oss:120b-cloud``, ``glm-4.6:cloud``)."""
    return name.endswith("-cloud") or name.endswith(":cloud")


def strip_cloud_suffix(name: str) -> str:
    """The name ollama.com's own API uses: ``gpt-oss:120b-cloud`` → ``gpt-oss:120b``,
    ``glm-4.6:cloud`` → ``glm-4.6``."""
    if name.endswith(":cloud"):
        return name[: -len(":cloud")]
    if name.endswith("-cloud"):
        return name[: -len("-cloud")]
    return name


def normalize_host(raw: str) -> str:
    """Normalize a host the way the ``ollama`` client does for ``OLLAMA_HOST``.

    ``localhost`` → ``http://localhost:11434``; ``:8080`` → ``http://127.0.0.1:8080``;
    ``https://ollama.com/`` → ``https://ollama.com``. An explicit scheme keeps its default port.
    """
    value = raw.strip().rstrip("/")
    if "://" not in value:
        if value.startswith(":"):
            value = "127.0.0.1" + value
        value = "http://" + value
        parts = urlsplit(value)
        if parts.port is None:
            host = parts.netloc
            value = f"{parts.scheme}://{host}:{_DEFAULT_PORT}{parts.path}"
    return value


def resolve_target(
    model: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    cloud_url: str = DEFAULT_CLOUD_URL,
    env: Mapping[str, str] | None = None,
) -> OllamaTarget:
    """Pick the host, wire name and credential for ``model`` (see the module docstring).

    Args:
        model: The model name after the routing prefix (``gpt-oss:20b-cloud``).
        api_key: An explicit Ollama Cloud key (wins over ``OLLAMA_API_KEY``).
        base_url: An explicit host for every model.
        cloud_url: The Ollama Cloud API base (overridable for tests and proxies).
        env: Environment to read ``OLLAMA_API_KEY`` / ``OLLAMA_HOST`` from (default ``os.environ``).
    """
    environ = os.environ if env is None else env
    env_key = environ.get("OLLAMA_API_KEY") or None
    env_host = environ.get("OLLAMA_HOST") or None
    cloud = normalize_host(cloud_url)
    local = normalize_host(env_host) if env_host else DEFAULT_LOCAL_HOST

    if base_url:
        host = normalize_host(base_url)
        on_cloud = host == cloud
        key = api_key or (env_key if on_cloud else None)
        name = strip_cloud_suffix(model) if on_cloud else model
        return OllamaTarget(host=host, model=name, is_cloud=on_cloud, api_key=key)

    key = api_key or env_key
    if is_cloud_model(model):
        if key:
            return OllamaTarget(cloud, strip_cloud_suffix(model), is_cloud=True, api_key=key)
        return OllamaTarget(local, model, is_cloud=False)
    if api_key or (env_key and not env_host):
        return OllamaTarget(cloud, model, is_cloud=True, api_key=key)
    return OllamaTarget(local, model, is_cloud=False)
