"""``OllamaModelProvider``: Ollama models by name, each routed to the right host."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.models.interface import ModelProvider

from timestep.errors import ConfigurationError
from timestep.models._ollama_hosts import DEFAULT_CLOUD_URL, OllamaTarget, resolve_target
from timestep.models._ollama_http import DEFAULT_TIMEOUT, OllamaConnection, TimeoutLike
from timestep.models.ollama_model import OllamaModel

if TYPE_CHECKING:
    import ollama

__all__ = ["OllamaModelProvider"]


class OllamaModelProvider(ModelProvider):
    """Builds ``OllamaModel`` instances; local and cloud models can share one provider.

    The host is chosen per model, not fixed by the first one (see ``_ollama_hosts`` for the
    full table): ``base_url`` if given; else Ollama Cloud with ``Authorization: Bearer <key>``
    for ``-cloud`` models when a key is available and for any model when ``api_key`` is passed
    (or ``OLLAMA_API_KEY`` is set without ``OLLAMA_HOST``); else ``OLLAMA_HOST`` or
    ``http://localhost:11434``. Requests to Ollama Cloud drop the ``-cloud`` suffix, the name
    ollama.com's own API uses. One HTTP connection pool is kept per host; nothing is opened
    until the first request, and the API key is never logged.

    Args:
        api_key: Ollama Cloud API key (default: ``OLLAMA_API_KEY``).
        base_url: A host for every model (a remote daemon, a proxy, or ``https://ollama.com``).
        ollama_client: An ``ollama.AsyncClient`` to use for every model instead (its host,
            headers and transport); cannot be combined with ``api_key`` or ``base_url``.
        timeout: Per-request timeout in seconds or an ``httpx.Timeout`` (default 300 s read,
            10 s connect; the ``ollama`` client's own default is no timeout at all).
        cloud_url: The Ollama Cloud API base; change it only to reach a proxy or a test server.

    Raises:
        ConfigurationError: (a ``ValueError``) ``ollama_client`` together with ``api_key`` or
            ``base_url``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        ollama_client: ollama.AsyncClient | None = None,
        *,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        cloud_url: str = DEFAULT_CLOUD_URL,
    ) -> None:
        if ollama_client is not None and (api_key is not None or base_url is not None):
            raise ConfigurationError(
                "Pass either ollama_client or api_key/base_url to OllamaModelProvider, not both: "
                "the client already carries its host and headers."
            )
        self._api_key = api_key
        self._base_url = base_url
        self._ollama_client = ollama_client
        self._timeout = timeout
        self._cloud_url = cloud_url
        self._connections: dict[tuple[str, str | None], OllamaConnection] = {}

    def __repr__(self) -> str:
        return f"OllamaModelProvider(base_url={self._base_url!r}, cloud_url={self._cloud_url!r})"

    def resolve(self, model_name: str) -> OllamaTarget:
        """Where ``model_name`` would be sent: host, wire name, whether it is Ollama Cloud."""
        return resolve_target(
            model_name, api_key=self._api_key, base_url=self._base_url, cloud_url=self._cloud_url
        )

    def get_model(self, model_name: str | None) -> OllamaModel:
        """Return an ``OllamaModel`` for ``model_name`` on the host chosen for it.

        Raises:
            ConfigurationError: ``model_name`` is empty (Ollama has no default model).
        """
        if not model_name:
            raise ConfigurationError(
                "Ollama has no default model: name one, e.g. model='ollama/llama3.2'."
            )
        if self._ollama_client is not None:
            connection = self._connections.get(("<ollama_client>", None))
            if connection is None:
                connection = OllamaConnection.from_ollama_client(
                    self._ollama_client, timeout=self._timeout
                )
                self._connections[("<ollama_client>", None)] = connection
            return OllamaModel(model_name, connection=connection)
        target = self.resolve(model_name)
        key = (target.host, target.api_key)
        connection = self._connections.get(key)
        if connection is None:
            connection = OllamaConnection(
                target.host, api_key=target.api_key, timeout=self._timeout
            )
            self._connections[key] = connection
        return OllamaModel(target.model, connection=connection)

    async def aclose(self) -> None:
        """Close the HTTP clients this provider opened (a user's ``ollama_client`` stays open)."""
        for connection in self._connections.values():
            await connection.aclose()
