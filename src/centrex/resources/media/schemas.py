"""Media file API schemas: upload metadata, text to speech, metadata changes, filters and prompt sets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from centrex.resources.fields import Language, StrictModel

MediaKind = Literal["prompt", "greeting", "moh", "system"]
MediaName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f/\\]+$"),
    Field(description="Unique in the tenant; no slashes or control characters.", examples=["main-menu"]),
]
PromptKey = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$"),
    Field(
        description="What the file says, as the call flows name it (`vm-goodbye`); with `language` it forms the "
        "tenant's prompt set, overriding the platform's system prompt of the same key.",
        examples=["vm-goodbye"],
    ),
]
KIND_DESCRIPTION = (
    "`prompt`, `greeting` (voicemail), `moh` (music on hold) or `system` (a default prompt offered to every tenant "
    "below; only on the platform tenant or a reseller)."
)


class MediaMeta(StrictModel):
    """Metadata sent with an upload: form fields of a multipart upload, or query parameters of a raw one."""

    name: MediaName | None = Field(default=None, description="Default: the uploaded file's name without extension.")
    kind: MediaKind = Field(default="prompt", description=KIND_DESCRIPTION)
    language: Language | None = None
    prompt_key: PromptKey | None = None


class MediaTts(StrictModel):
    name: MediaName
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="What to say (at most 2000 characters), spoken offline by espeak-ng."
    )
    language: Language | None = Field(default=None, description="Picks the voice when `voice` is not given.")
    voice: Annotated[str, StringConstraints(min_length=2, max_length=32)] | None = Field(
        default=None, description="An espeak-ng voice (`en-us`, `en-gb`, `fr-fr`, `de`, optionally `+f3`)."
    )
    kind: MediaKind = Field(default="prompt", description=KIND_DESCRIPTION)
    prompt_key: PromptKey | None = None

    @model_validator(mode="after")
    def _text_not_blank(self) -> MediaTts:
        if not self.text.strip():
            raise ValueError("text must not be blank")
        return self


class MediaUpdate(StrictModel):
    name: MediaName | None = None
    kind: MediaKind | None = Field(default=None, description=KIND_DESCRIPTION)
    language: Language | None = None
    prompt_key: PromptKey | None = None

    @model_validator(mode="after")
    def _no_null_required(self) -> MediaUpdate:
        for name in ("name", "kind"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class MediaFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    kind: MediaKind | None = None
    language: Annotated[str, StringConstraints(max_length=16)] | None = None
    prompt_key: Annotated[str, StringConstraints(max_length=64)] | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(default=None, description="Search in name.")


class MediaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    kind: str
    language: str | None
    prompt_key: str | None
    sha256: str = Field(validation_alias="blob_sha256", description="Digest of the stored audio (its ETag).")
    size_bytes: int
    duration_ms: int
    sample_rate: int
    original_filename: str | None
    source: str = Field(description="`upload`, `tts` or `system`.")
    tts_text: str | None
    tts_voice: str | None
    created_at: datetime
    updated_at: datetime


class PromptEntry(BaseModel):
    media_id: str
    name: str
    source: Literal["tenant", "inherited"] = Field(
        description="`tenant`: the tenant's own file; `inherited`: a system prompt of the platform or a reseller."
    )
    owner_tenant_id: str
    duration_ms: int
    sha256: str


class PromptSet(BaseModel):
    language: str
    prompts: dict[str, PromptEntry] = Field(description="Effective prompt for each prompt key.")
