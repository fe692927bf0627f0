"""Building blocks shared by the kinds: the camelCase base model, references, conditions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# A DNS-1123 label: what Kubernetes accepts as the name of most objects.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# A DNS-1123 subdomain (names of Secrets, ConfigMaps, custom objects).
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

Name = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)]
Timestamp = Annotated[str, Field(max_length=64, json_schema_extra={"format": "date-time"})]
ConditionStatus = Literal["True", "False", "Unknown"]


class Model(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are errors, not silence."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class ObjectRef(Model):
    """A reference to an object in the same namespace."""

    name: Name
    uid: Annotated[str, Field(max_length=64)] | None = None


class SecretKeyRef(Model):
    """A key of a Secret in the same namespace."""

    name: Name
    key: Annotated[str, Field(min_length=1, max_length=253)] | None = None


class ConfigMapKeyRef(Model):
    """A key of a ConfigMap in the same namespace."""

    name: Name
    key: Annotated[str, Field(min_length=1, max_length=253)]


class Condition(Model):
    """A Kubernetes condition: the contract users and `kubectl wait` read."""

    type: Annotated[str, Field(min_length=1, max_length=64)]
    status: ConditionStatus
    reason: Annotated[str, Field(max_length=128)] = ""
    message: Annotated[str, Field(max_length=32768)] = ""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    last_transition_time: Timestamp | None = None


Conditions = Annotated[list[Condition], Field(max_length=16)]
