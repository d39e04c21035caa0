"""The exception hierarchy: one root, every class pickles with its attributes.

DBOS pickles exceptions that cross a step boundary, so a class that cannot round-trip would
turn a clean model error into an unrelated unpickling failure after a crash.
"""

from __future__ import annotations

import inspect
import pickle
from typing import Any

import pytest

import timestep
import timestep.errors as errors

# A sample value per keyword attribute a constructor accepts.
SAMPLES: dict[str, Any] = {
    "model": "llama3.2",
    "host": "http://127.0.0.1:11434",
    "status_code": 429,
    "key": "session-42",
    "feature": "hosted MCP approvals",
}

ERROR_CLASSES = [getattr(errors, name) for name in errors.__all__]


def _build(cls: type[errors.TimestepError]) -> tuple[errors.TimestepError, dict[str, Any]]:
    kwargs = {
        name: SAMPLES[name]
        for name, parameter in inspect.signature(cls.__init__).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name in SAMPLES
    }
    return cls(f"{cls.__name__} happened", **kwargs), kwargs


def test_every_public_name_is_an_error_class() -> None:
    assert ERROR_CLASSES, "timestep.errors exports no classes"
    for cls in ERROR_CLASSES:
        assert inspect.isclass(cls) and issubclass(cls, Exception), cls


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_root_is_timestep_error(cls: type[Exception]) -> None:
    assert issubclass(cls, errors.TimestepError)
    assert cls.__name__ in timestep.__all__
    assert getattr(timestep, cls.__name__) is cls


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_pickle_round_trip_keeps_type_message_and_attributes(
    cls: type[errors.TimestepError],
) -> None:
    error, kwargs = _build(cls)
    restored = pickle.loads(pickle.dumps(error))
    assert type(restored) is cls
    assert restored.message == error.message == str(restored)
    assert restored.args == error.args
    for name, value in kwargs.items():
        assert getattr(restored, name) == value, name


def test_model_errors_carry_attributes_through_pickle() -> None:
    error = errors.ModelResponseError("boom", model="m", host="h", status_code=502)
    restored = pickle.loads(pickle.dumps(error))
    assert (restored.model, restored.host, restored.status_code) == ("m", "h", 502)
    assert isinstance(restored, errors.ModelError)


def test_interruption_exception_keeps_its_message_only() -> None:
    # The RunState holds live agents (not picklable); only the message crosses a process.
    error = errors.InterruptionException("waiting", interruptions=["x"], state=object())
    restored = pickle.loads(pickle.dumps(error))
    assert restored.message == "waiting"
    assert restored.interruptions == [] and restored.state is None


def test_configuration_error_is_a_value_error_and_a_user_error() -> None:
    error = errors.ConfigurationError("contradictory")
    assert isinstance(error, ValueError) and isinstance(error, errors.UserError)
    with pytest.raises(ValueError):
        raise error
