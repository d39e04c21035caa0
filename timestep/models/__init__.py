"""Model routing: OpenAI and Ollama behind one ``ModelProvider``.

``MultiModelProvider`` picks a provider by model-name prefix (``openai/gpt-4.1``,
``ollama/llama3.2``, custom prefixes via ``MultiModelProviderMap``). ``OllamaModelProvider``
and ``OllamaModel`` speak Ollama's native ``/api/chat`` directly over httpx.
"""

from __future__ import annotations

from timestep.models._ollama_http import DEFAULT_TIMEOUT, OllamaConnection
from timestep.models.multi_provider import MultiModelProvider, MultiModelProviderMap
from timestep.models.ollama_model import OllamaModel
from timestep.models.ollama_provider import OllamaModelProvider

__all__ = [
    "DEFAULT_TIMEOUT",
    "MultiModelProvider",
    "MultiModelProviderMap",
    "OllamaConnection",
    "OllamaModel",
    "OllamaModelProvider",
]
