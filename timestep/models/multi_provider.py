"""Prefix routing: ``openai/…`` (or no prefix) → OpenAI, ``ollama/…`` → Ollama, custom prefixes.

The model name is everything after the *first* ``/``: ``ollama/hf.co/org/model:q4`` routes to
Ollama with the name ``hf.co/org/model:q4``.
"""

from __future__ import annotations

import asyncio

from agents.models.interface import Model, ModelProvider
from agents.models.openai_provider import OpenAIProvider
from openai import AsyncOpenAI

from timestep.errors import ConfigurationError, UserError
from timestep.models.ollama_provider import OllamaModelProvider

__all__ = ["MultiModelProvider", "MultiModelProviderMap"]

_BUILTIN_PREFIXES = ("openai", "ollama")


class MultiModelProviderMap:
    """A mutable mapping of model-name prefixes to ``ModelProvider`` instances."""

    def __init__(self) -> None:
        self._mapping: dict[str, ModelProvider] = {}

    def has_prefix(self, prefix: str) -> bool:
        """True if ``prefix`` has a provider."""
        return prefix in self._mapping

    def get_mapping(self) -> dict[str, ModelProvider]:
        """A copy of the prefix → provider mapping (changing it does not change the map)."""
        return dict(self._mapping)

    def set_mapping(self, mapping: dict[str, ModelProvider]) -> None:
        """Replace the whole mapping (copied)."""
        self._mapping = dict(mapping)

    def get_provider(self, prefix: str) -> ModelProvider | None:
        """The provider for ``prefix``, or None."""
        return self._mapping.get(prefix)

    def add_provider(self, prefix: str, provider: ModelProvider) -> None:
        """Route ``prefix/…`` model names to ``provider`` (replacing any previous one).

        Raises:
            UserError: ``prefix`` is empty or contains ``/``.
        """
        if not prefix or "/" in prefix:
            raise UserError(f"A provider prefix must be non-empty and contain no '/': {prefix!r}.")
        self._mapping[prefix] = provider

    def remove_provider(self, prefix: str) -> None:
        """Stop routing ``prefix``; a prefix that is not mapped is ignored."""
        self._mapping.pop(prefix, None)


class MultiModelProvider(ModelProvider):
    """Routes a model name to a provider by its prefix.

    * no prefix, or ``openai/`` → the SDK's ``OpenAIProvider`` built from the ``openai_*``
      arguments (lazily: no API key is needed until an OpenAI model is called);
    * ``ollama/`` → an ``OllamaModelProvider`` (one per prefix, created on first use);
    * any prefix in ``provider_map`` → that provider (the map wins over the built-ins);
    * anything else → ``UserError`` naming the known prefixes.

    A model name of ``None`` means the OpenAI default model.

    Args:
        provider_map: Custom prefixes (e.g. ``ollama`` → ``OllamaModelProvider(base_url=…)``).
        openai_api_key: API key for OpenAI (default: ``OPENAI_API_KEY``).
        openai_base_url: Base URL for an OpenAI-compatible server.
        openai_client: A ready ``AsyncOpenAI`` client (excludes the key/base URL/org/project).
        openai_organization: OpenAI organization id.
        openai_project: OpenAI project id.
        openai_use_responses: Responses API (True) or Chat Completions (False); SDK default if
            None.
    """

    def __init__(
        self,
        provider_map: MultiModelProviderMap | None = None,
        openai_api_key: str | None = None,
        openai_base_url: str | None = None,
        openai_client: AsyncOpenAI | None = None,
        openai_organization: str | None = None,
        openai_project: str | None = None,
        openai_use_responses: bool | None = None,
    ) -> None:
        if openai_client is not None and any(
            value is not None
            for value in (openai_api_key, openai_base_url, openai_organization, openai_project)
        ):
            raise ConfigurationError(
                "Pass openai_client or openai_api_key/openai_base_url/openai_organization/"
                "openai_project to MultiModelProvider, not both: the client already carries them."
            )
        self.provider_map = provider_map
        # OpenAIProvider builds its AsyncOpenAI client on first use, so constructing this
        # provider without OPENAI_API_KEY works (Ollama-only users never need one).
        self.openai_provider = OpenAIProvider(
            api_key=openai_api_key,
            base_url=openai_base_url,
            openai_client=openai_client,
            organization=openai_organization,
            project=openai_project,
            use_responses=openai_use_responses,
        )
        self._fallback_providers: dict[str, ModelProvider] = {}

    def get_model(self, model_name: str | None) -> Model:
        """Return the model for ``model_name`` (see the class docstring for the routing)."""
        if model_name is None:
            return self.openai_provider.get_model(None)
        prefix, sep, name = model_name.partition("/")
        if not sep:
            return self.openai_provider.get_model(model_name)
        if self.provider_map is not None:
            provider = self.provider_map.get_provider(prefix)
            if provider is not None:
                return provider.get_model(name)
        if prefix == "openai":
            return self.openai_provider.get_model(name)
        if prefix == "ollama":
            return self._fallback("ollama").get_model(name)
        known = sorted(
            {*_BUILTIN_PREFIXES, *(self.provider_map.get_mapping() if self.provider_map else ())}
        )
        raise UserError(
            f"Unknown model prefix {prefix!r} in {model_name!r}. Known prefixes: "
            f"{', '.join(known)}; add others with MultiModelProviderMap.add_provider."
        )

    def _fallback(self, prefix: str) -> ModelProvider:
        provider = self._fallback_providers.get(prefix)
        if provider is None:
            provider = OllamaModelProvider()
            self._fallback_providers[prefix] = provider
        return provider

    async def aclose(self) -> None:
        """Close every provider this router created or was given, each once.

        The first failure is re-raised after all providers had their chance to close.
        """
        providers: list[ModelProvider] = [self.openai_provider]
        if self.provider_map is not None:
            providers += self.provider_map.get_mapping().values()
        providers += self._fallback_providers.values()
        seen: set[int] = set()
        first_error: Exception | None = None
        for provider in providers:
            if id(provider) in seen or provider is self:
                continue
            seen.add(id(provider))
            try:
                await provider.aclose()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                first_error = first_error or error
        if first_error is not None:
            raise first_error
